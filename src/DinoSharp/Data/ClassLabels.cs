namespace DinoSharp.Data;

/// <summary>Class names in ordinal order and each item's index among them (ImageFolder's convention).</summary>
public static class ClassLabels
{
    public static (string[] Names, int[] Labels) FromNames(IReadOnlyList<string> classOfItem)
    {
        ArgumentNullException.ThrowIfNull(classOfItem);
        string[] names = classOfItem.Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        return (names, classOfItem.Select(c => index[c]).ToArray());
    }
}
