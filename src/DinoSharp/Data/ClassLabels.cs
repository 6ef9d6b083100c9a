namespace DinoSharp.Data;

/// <summary>Class names in ordinal order and each item's index among them (ImageFolder's convention).</summary>
public static class ClassLabels
{
    /// <summary>Numbers the distinct class names of <paramref name="classOfItem"/> in ordinal order.</summary>
    /// <param name="classOfItem">The class name of each item, in dataset order.</param>
    /// <returns>The sorted distinct names, and for each item the index of its name among them.</returns>
    public static (string[] Names, int[] Labels) FromNames(IReadOnlyList<string> classOfItem)
    {
        ArgumentNullException.ThrowIfNull(classOfItem);
        string[] names = classOfItem.Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        return (names, classOfItem.Select(c => index[c]).ToArray());
    }
}
