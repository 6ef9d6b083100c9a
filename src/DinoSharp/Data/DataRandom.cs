namespace DinoSharp.Data;

/// <summary>
/// A small, fast, seedable PRNG (xoshiro256** seeded through SplitMix64) usable wherever a <see cref="Random"/> is
/// expected. Every image gets its own instance seeded from (run seed, iteration, slot), so augmentation never depends on
/// which thread ran first, and the sequence is fixed by this code rather than by the runtime's Random implementation.
/// </summary>
public sealed class DataRandom : Random
{
    ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator whose whole sequence is fixed by <paramref name="seed"/> (expanded through SplitMix64).</summary>
    public DataRandom(ulong seed) : base(0)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>Mixes several values into one well-distributed 64-bit seed (order matters).</summary>
    public static ulong Mix(ulong a, ulong b) => Finalize(a * 0x9E3779B97F4A7C15UL ^ Finalize(b + 0x632BE59BD9B4E019UL));

    /// <summary>Mixes three values (see <see cref="Mix(ulong, ulong)"/>).</summary>
    public static ulong Mix(ulong a, ulong b, ulong c) => Mix(Mix(a, b), c);

    /// <summary>Mixes four values (see <see cref="Mix(ulong, ulong)"/>).</summary>
    public static ulong Mix(ulong a, ulong b, ulong c, ulong d) => Mix(Mix(Mix(a, b), c), d);

    static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    static ulong SplitMix64(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        return Finalize(x);
    }

    /// <summary>The next raw 64 random bits (one xoshiro256** step); every other draw is built from it.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public override float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1U << 24));

    /// <summary>Same as <see cref="NextDouble"/>, so <see cref="Random"/>'s inherited members use this generator.</summary>
    protected override double Sample() => NextDouble();

    /// <summary>Uniform in [a, b) (or (b, a] when b &lt; a, like Python's random.uniform).</summary>
    public double Uniform(double a, double b) => a + (b - a) * NextDouble();

    /// <summary>True with probability <paramref name="p"/>; consumes one draw whatever p is, so streams stay aligned.</summary>
    public bool Bernoulli(double p) => NextDouble() < p;

    /// <summary>Uniform integer in [<paramref name="minValue"/>, <paramref name="maxValue"/>), without modulo bias (Lemire's method); <paramref name="minValue"/> when the range is empty.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minValue"/> &gt; <paramref name="maxValue"/>.</exception>
    public override long NextInt64(long minValue, long maxValue)
    {
        if (minValue > maxValue) throw new ArgumentOutOfRangeException(nameof(minValue));
        ulong range = (ulong)(maxValue - minValue);
        if (range == 0) return minValue;
        // Lemire's unbiased bounded integer: multiply-high with rejection of the short tail.
        UInt128 m = (UInt128)NextUInt64() * range;
        ulong low = (ulong)m;
        if (low < range)
        {
            ulong threshold = (0 - range) % range;
            while (low < threshold)
            {
                m = (UInt128)NextUInt64() * range;
                low = (ulong)m;
            }
        }
        return minValue + (long)(ulong)(m >> 64);
    }

    /// <summary>Uniform integer in [0, <paramref name="maxValue"/>).</summary>
    public override long NextInt64(long maxValue) => NextInt64(0, maxValue);

    /// <summary>Uniform integer in [0, <see cref="long.MaxValue"/>).</summary>
    public override long NextInt64() => NextInt64(0, long.MaxValue);

    /// <summary>Uniform integer in [<paramref name="minValue"/>, <paramref name="maxValue"/>).</summary>
    public override int Next(int minValue, int maxValue) => (int)NextInt64(minValue, maxValue);

    /// <summary>Uniform integer in [0, <paramref name="maxValue"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxValue"/> is negative.</exception>
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)NextInt64(0, maxValue);
    }

    /// <summary>Uniform integer in [0, <see cref="int.MaxValue"/>).</summary>
    public override int Next() => (int)NextInt64(0, int.MaxValue);

    /// <summary>Fills <paramref name="buffer"/> with random bytes (the top 8 bits of one draw per byte).</summary>
    public override void NextBytes(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        NextBytes(buffer.AsSpan());
    }

    /// <summary>Fills <paramref name="buffer"/> with random bytes (the top 8 bits of one draw per byte).</summary>
    public override void NextBytes(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++)
            buffer[i] = (byte)(NextUInt64() >> 56);
    }

    /// <summary>Fisher–Yates permutation of 0..n-1.</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }
}
