using DinoSharp.Distributed;

namespace DinoSharp.Tests.Distributed;

public sealed class ShardTests
{
    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    public void Parses_i_of_n(string text, int index, int count) => Assert.Equal(new Shard(index, count), Shard.Parse(text));

    [Theory]
    [InlineData("2/2")]
    [InlineData("1")]
    [InlineData("-1/2")]
    [InlineData("0/0")]
    [InlineData("a/b")]
    public void Refuses_anything_else(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => Shard.Parse(text));
        Assert.Contains("0 ≤ i < n", e.Message);
    }

    [Theory]
    [InlineData(10_000, 2)]
    [InlineData(10, 3)]
    [InlineData(2, 5)]
    public void Ranges_cover_everything_once_in_order(long total, int count)
    {
        long next = 0;
        for (int i = 0; i < count; i++)
        {
            var (start, end) = new Shard(i, count).Range(total);
            Assert.Equal(next, start);
            Assert.InRange(end - start, total / count, total / count + 1);
            next = end;
        }
        Assert.Equal(total, next);
    }
}
