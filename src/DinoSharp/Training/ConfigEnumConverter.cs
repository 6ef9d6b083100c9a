using System.Text.Json;
using System.Text.Json.Serialization;

namespace DinoSharp.Training;

/// <summary>A config enum read from and written as one of its names; an unknown name lists the names, with "did you mean".</summary>
sealed class ConfigEnumConverter<T>(IReadOnlyList<(string Name, T Value)> names) : JsonConverter<T> where T : struct, Enum
{
    /// <summary>The names a value may be written with, the canonical one of each value first.</summary>
    public IReadOnlyList<string> Names { get; } = names.Select(n => n.Name).ToList();

    /// <summary>The value a name stands for.</summary>
    /// <exception cref="ConfigValueException">The name is unknown.</exception>
    public T Parse(string? text)
    {
        foreach (var (name, value) in names)
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) return value;
        var canonical = names.DistinctBy(n => n.Value).Select(n => n.Name).ToList();
        string? hint = text is null ? null : ConfigNames.Suggest(text.ToLowerInvariant(), Names);
        throw new ConfigValueException($"'{text}': must be one of {string.Join(", ", canonical)}{(hint is null ? "." : $". Did you mean '{hint}'?")}");
    }

    /// <summary>The canonical name of a value.</summary>
    public string NameOf(T value)
    {
        foreach (var (name, v) in names)
            if (EqualityComparer<T>.Default.Equals(v, value)) return name;
        throw new ArgumentOutOfRangeException(nameof(value), value, $"{typeof(T).Name} has no config name.");
    }

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return Parse(reader.GetString());
        using var value = JsonDocument.ParseValue(ref reader);
        throw new ConfigValueException($"{value.RootElement.GetRawText()}: must be one of {string.Join(", ", names.DistinctBy(n => n.Value).Select(n => n.Name))}.");
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(NameOf(value));
}
