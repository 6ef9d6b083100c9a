using System.Globalization;

namespace DinoSharp.Distributed;

/// <summary>
/// Part <see cref="Index"/> of <see cref="Count"/> equal-as-possible contiguous parts of something: the images of a
/// global batch for one rank, or the images of a dataset for one embedding job. Written "i/n", 0-based.
/// </summary>
public readonly record struct Shard
{
    /// <summary>Part <paramref name="index"/> (0-based) of <paramref name="count"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 0 ≤ index &lt; count.</exception>
    public Shard(int index, int count)
    {
        if (count < 1 || index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), $"Shard {index}/{count}: need 0 ≤ index < count.");
        Index = index;
        Count = count;
    }

    /// <summary>This part, 0 … Count − 1.</summary>
    public int Index { get; }
    /// <summary>How many parts there are.</summary>
    public int Count { get; }

    /// <summary>The whole (shard 0 of 1).</summary>
    public static Shard Whole => new(0, 1);

    /// <summary>Parses "i/n" (0 ≤ i &lt; n).</summary>
    /// <exception cref="ArgumentException">Not of that form; the message says what is expected.</exception>
    public static Shard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && i < n)
            return new Shard(i, n);
        throw new ArgumentException($"--shard {text}: expected i/n with 0 ≤ i < n, e.g. 0/4 for the first of four shards.");
    }

    /// <summary>[Start, End) of this shard in 0 … total − 1: the first total mod n shards get one item more.</summary>
    public (long Start, long End) Range(long total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return (total * Index / Count, total * (Index + 1) / Count);
    }

    /// <summary>"i/n", as <see cref="Parse"/> reads it.</summary>
    public override string ToString() => $"{Index}/{Count}";
}
