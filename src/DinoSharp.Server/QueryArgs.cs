using System.Globalization;

namespace DinoSharp.Server;

/// <summary>Query-string values parsed strictly: a missing, malformed or out-of-range value is a 400 naming it.</summary>
static class QueryArgs
{
    /// <summary>Integer <paramref name="name"/> in [min, max]; <paramref name="fallback"/> when absent (null: required).</summary>
    public static int Int(HttpRequest request, string name, int? fallback, int min, int max)
    {
        string? text = request.Query[name];
        if (string.IsNullOrEmpty(text))
            return fallback ?? throw new BadRequestException($"'{name}' is required (an integer from {min} to {max}).");
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            throw new BadRequestException($"'{name}={Short(text)}' is not an integer (expected {min} to {max}).");
        if (value < min || value > max)
            throw new BadRequestException($"'{name}={value}' is out of range (expected {min} to {max}).");
        return value;
    }

    /// <summary>Optional integer: null when absent.</summary>
    public static int? OptionalInt(HttpRequest request, string name, int min, int max) =>
        string.IsNullOrEmpty(request.Query[name]) ? null : Int(request, name, null, min, max);

    /// <summary>Finite number <paramref name="name"/> in [min, max], or <paramref name="fallback"/> when absent.</summary>
    public static double Double(HttpRequest request, string name, double fallback, double min, double max)
    {
        string? text = request.Query[name];
        if (string.IsNullOrEmpty(text)) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new BadRequestException($"'{name}={Short(text)}' is not a number (expected {min} to {max}).");
        if (value < min || value > max)
            throw new BadRequestException($"'{name}={value.ToString(CultureInfo.InvariantCulture)}' is out of range (expected {min} to {max}).");
        return value;
    }

    /// <summary>A row index taken from the route: an integer naming an indexed image, else 404.</summary>
    public static int Row(string? text, long count)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int row) || row >= count)
            throw new BadRequestException($"no indexed image '{Short(text ?? "")}' (images are numbered 0 to {count - 1}).", StatusCodes.Status404NotFound);
        return row;
    }

    static string Short(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
