using System.Diagnostics;
using DinoSharp.Distributed;
using DinoSharp.Eval;
using DinoSharp.Tests.Cli;
using DinoSharp.Tests.Reliability;

namespace DinoSharp.Tests.Distributed;

/// <summary>The Fashion-MNIST test split (10,000 images) embedded by one `dino embed` process, the reference for the shards.</summary>
public sealed class WholeStoreFixture : IDisposable
{
    public WholeStoreFixture()
    {
        Folder = TinyRun.NewFolder("shards");
        Whole = Path.Combine(Folder, "whole");
        if (!File.Exists(Path.Combine(DinoSharp.Data.FashionMnist.DefaultFolder, "t10k-images-idx3-ubyte.gz"))) return;   // every test skips (Requires.FashionMnist)
        var (code, stdout, stderr) = DinoCli.Run(ShardedEmbeddingTests.Embed(Whole), TimeSpan.FromMinutes(3));
        if (code != 0) throw new InvalidOperationException($"dino embed failed ({code}): {stdout} {stderr}");
    }

    public string Folder { get; }
    public string Whole { get; }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

public sealed class ShardedEmbeddingTests(WholeStoreFixture fixture) : IClassFixture<WholeStoreFixture>
{
    /// <summary>`dino embed` of the Fashion-MNIST test split with an untrained pico ViT, one libtorch thread.</summary>
    internal static List<string> Embed(string store, params string[] extra) =>
        ["embed", "--model", "random:vit_pico_p7", "--data", "fashion-mnist:test", "--out", store, "--threads", "1", "--quiet", .. extra];

    [SkippableFact]
    public void Two_shards_merged_are_the_single_process_store()
    {
        Requires.FashionMnist();
        string store = Path.Combine(fixture.Folder, "cli");
        foreach (var shard in new[] { "1/2", "0/2" })
        {
            var (code, stdout, stderr) = DinoCli.Run(Embed(store, "--shard", shard), TimeSpan.FromMinutes(3));
            Assert.True(code == 0, stdout + stderr);
        }
        Assert.True(File.Exists(store + ".shard-00001-of-00002.safetensors"));
        Merge(store);
        AssertSameStore(fixture.Whole, store);
    }

    [MpiFact]
    [Trait("Category", "Mpi")]
    public void Shards_embedded_by_the_ranks_of_mpirun_merge_into_the_single_process_store()
    {
        Requires.FashionMnist();
        string store = Path.Combine(fixture.Folder, "mpi");
        var (code, stdout, stderr) = Mpirun.RunDino(2, Embed(store));
        Assert.True(code == 0, stdout + stderr);
        Merge(store);
        AssertSameStore(fixture.Whole, store);
    }

    /// <summary>
    /// One rank's `dino embed` killed with SIGKILL under mpirun (after a few complete chunks of its shard) and the same
    /// mpirun command run again: that rank continues from its last complete chunk, the other's shard is kept or
    /// redone, and the merged store is byte-identical to the single-process one.
    /// </summary>
    [MpiFact]
    [Trait("Category", "Mpi")]
    public void A_rank_killed_under_mpirun_resumes_its_shard_and_the_merge_is_the_single_process_store()
    {
        Requires.FashionMnist();
        string store = Path.Combine(fixture.Folder, "mpi-killed");
        var args = Embed(store, "--chunk", "1");   // a chunk per batch of 256: 20 chunks in rank 0's 5,000 images
        string shard0 = EmbeddingShards.PathOf(store, new Shard(0, 2));
        string partial = EmbeddingChunkFolder.FolderOf(shard0);

        using (var mpirun = Mpirun.StartDino(2, args))
        {
            var stderr = mpirun.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            int? rank0 = null;
            while (rank0 is null && !mpirun.HasExited && clock.Elapsed < TimeSpan.FromMinutes(1)) rank0 = Mpirun.RankPid(mpirun.Id, 0);
            Assert.True(rank0 is not null, $"no rank 0 process under mpirun: {(mpirun.HasExited ? stderr.Result : "")}");
            while (Done(partial) < 3 && !mpirun.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(1);
            Assert.True(kill(rank0.Value, 9) == 0, $"rank 0 (pid {rank0}) ended before the kill: {(mpirun.HasExited ? stderr.Result : "")}");
            if (!mpirun.WaitForExit(TimeSpan.FromMinutes(1))) mpirun.Kill(entireProcessTree: true);
            mpirun.WaitForExit();
            Assert.NotEqual(0, mpirun.ExitCode);   // mpirun reports the killed rank
        }
        int done = Done(partial);
        Assert.InRange(done, 3, 19);
        Assert.False(File.Exists(shard0 + ".safetensors"));   // nothing under the shard's name before it is complete

        var (code, stdout, stderr2) = Mpirun.RunDino(2, args);
        Assert.True(code == 0, stdout + stderr2);
        Assert.Contains("taking over a stale writer lock", stderr2);   // the killed rank's lock
        Assert.False(Directory.Exists(partial));
        Merge(store);
        AssertSameStore(fixture.Whole, store);
        ReliabilityFigures.Fault(nameof(ShardedEmbeddingTests), "SIGKILL of one rank of dino embed under mpirun", 1, 1, 0,
            $"rank 0 killed after {done} of 20 chunks; merged store byte-identical");
    }

    static int Done(string partial) =>
        Directory.Exists(partial) ? Directory.GetDirectories(partial, "chunk-*").Length : 0;

    [System.Runtime.InteropServices.DllImport("libc")]
    static extern int kill(int pid, int sig);

    [SkippableFact]
    public void Merge_refuses_shards_that_do_not_cover_the_dataset_once_with_one_model()
    {
        Requires.FashionMnist();
        string store = Path.Combine(fixture.Folder, "bad");
        void Shard(string shard, params string[] extra)
        {
            var (code, error) = CliCommandTests.Dino([.. Embed(store, "--shard", shard, "--limit", "40"), .. extra]);
            Assert.True(code == 0, error);
        }
        void RefusedWith(string expected)
        {
            var (code, error) = CliCommandTests.Dino("embed", "merge", "--out", store);
            Assert.Equal(1, code);
            Assert.Contains(expected, error);
        }
        void Remove(string shard)
        {
            foreach (var ext in new[] { ".safetensors", ".json" }) File.Delete(store + shard + ext);
        }

        RefusedWith("No shards");
        Shard("0/3");
        RefusedWith("Shard(s) 1/3, 2/3 of");
        Shard("1/3", "--model", "random:vit_pico_p4");
        RefusedWith("re-embed the odd one with the same model");
        Remove(".shard-00001-of-00003");
        Shard("1/3", "--limit", "50");
        RefusedWith("the shards must split one dataset one way");
        Remove(".shard-00001-of-00003");
        Shard("1/2");
        RefusedWith("split one dataset one way");
        Remove(".shard-00001-of-00002");
        Shard("1/3");
        Shard("2/3");
        Assert.Equal(0, CliCommandTests.Dino("embed", "merge", "--out", store).Code);
        RefusedWith("already exists");
        Assert.Equal(1, CliCommandTests.Dino([.. Embed(store + "2", "--shard", "3/3")]).Code);
    }

    static void Merge(string store)
    {
        var (code, error) = CliCommandTests.Dino("embed", "merge", "--out", store);
        Assert.True(code == 0, error);
    }

    /// <summary>The same embeddings bit for bit, rows (paths, labels, sizes), model identity and class names.</summary>
    static void AssertSameStore(string expectedPath, string actualPath)
    {
        Assert.Equal(File.ReadAllBytes(expectedPath + ".safetensors"), File.ReadAllBytes(actualPath + ".safetensors"));
        using var expected = EmbeddingStore.Open(expectedPath);
        using var actual = EmbeddingStore.Open(actualPath);
        Assert.Equal(10_000, actual.Count);
        Assert.Equal(expected.Identity, actual.Identity);
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.ClassNames, actual.ClassNames);
        Assert.Null(actual.Shard);
    }
}
