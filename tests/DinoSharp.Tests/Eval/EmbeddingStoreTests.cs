using DinoSharp.Eval;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Eval;

public sealed class EmbeddingStoreTests : IDisposable
{
    static readonly ModelIdentity Small = new("vit_small_patch14_dinov2", "ab12cd34ef56ab12cd34ef56", "resize256-center224-imagenet-norm", "cls");
    static readonly ModelIdentity Base = Small with { Architecture = "vit_base_patch14_dinov2", CheckpointSha256 = "99887766554433221100aabb" };

    readonly string dir = Directory.CreateTempSubdirectory("dinosharp-store-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>
    /// The precision is part of the identity: a store written before the field existed reads as fp32, and a bf16
    /// store refuses fp32 rows.
    /// </summary>
    [Fact]
    public void Precision_is_part_of_the_identity_and_old_stores_read_as_fp32()
    {
        string path = Path.Combine(dir, "old");
        using var a = EmbeddingMath.Normalize(torch.randn(2, 6, generator: new Generator(3)));
        using (var store = EmbeddingStore.Create(path, Small, 6))
        {
            store.Append(a, ["a0.jpg", "a1.jpg"]);
            store.Save();
        }
        // As written before the field existed: no "precision" key.
        var sidecar = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path + ".json"))!;
        Assert.Equal("fp32", (string?)sidecar["identity"]!["precision"]);
        sidecar["identity"]!.AsObject().Remove("precision");
        File.WriteAllText(path + ".json", sidecar.ToJsonString());
        using (var old = EmbeddingStore.Open(path + ".json"))
            Assert.Equal(Small, old.Identity);
        var bf16 = Small with { Precision = "bf16" };
        Assert.NotEqual(Small, bf16);
        Assert.EndsWith(", bf16)", bf16.ToString());
        Assert.ThrowsAny<Exception>(() => EmbeddingStore.OpenForAppend(path + ".safetensors", bf16).Dispose());
    }

    [Fact]
    public void Round_trip_and_append_preserve_rows_labels_sizes_and_identity()
    {
        string path = Path.Combine(dir, "pets");
        using var a = EmbeddingMath.Normalize(torch.randn(3, 6, generator: new Generator(1)));
        using var b = EmbeddingMath.Normalize(torch.randn(2, 6, generator: new Generator(2)));
        using (var store = EmbeddingStore.Create(path, Small, 6))
        {
            store.ClassNames.AddRange(["cat", "dog"]);
            store.Append(a, ["a0.jpg", "a1.jpg", "a2.jpg"], [0, 1, 1], [(640, 480), (10, 20), (1, 1)]);
            store.Save();
        }
        using (var store = EmbeddingStore.OpenForAppend(path + ".safetensors", Small))
        {
            Assert.Equal(3, store.Count);
            store.Append(b, ["b0.png", "b1.png"]);                        // unlabelled, no sizes
            store.Save();
        }
        using var reopened = EmbeddingStore.Open(path + ".json");
        Assert.Equal(Small, reopened.Identity);
        Assert.Equal(5, reopened.Count);
        Assert.Equal(["cat", "dog"], reopened.ClassNames);
        Assert.Equal([0L, 1L, 1L, -1L, -1L], reopened.Labels);
        Assert.Equal(new EmbeddingRow("a0.jpg", 0, 640, 480), reopened.Rows[0]);
        Assert.Equal(new EmbeddingRow("b1.png", -1, 0, 0), reopened.Rows[4]);
        using var expected = torch.cat([a, b], 0);
        Assert.True(reopened.Embeddings.equal(expected).all().item<bool>());
        Assert.False(File.Exists(path + ".safetensors.tmp"));
        Assert.False(File.Exists(path + ".json.tmp"));
    }

    [Fact]
    public void A_store_written_before_identities_had_a_precision_reads_as_fp32()
    {
        string path = Path.Combine(dir, "old");
        using (var store = EmbeddingStore.Create(path, Small, 2))
        {
            using var x = torch.ones(1, 2);
            store.Append(x, ["x"]);
            store.Save();
        }
        var sidecar = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path + ".json"))!.AsObject();
        var identity = sidecar.First(kv => kv.Key.Equals("identity", StringComparison.OrdinalIgnoreCase)).Value!.AsObject();
        string key = identity.Select(kv => kv.Key).Single(k => k.Equals("precision", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("fp32", identity[key]!.GetValue<string>());
        identity.Remove(key);
        File.WriteAllText(path + ".json", sidecar.ToJsonString());
        using var reopened = EmbeddingStore.Open(path);
        Assert.Equal(Small, reopened.Identity);
        Assert.Equal(ModelIdentity.DefaultPrecision, reopened.Identity.Precision);
    }

    [Fact]
    public void Mixing_identities_is_refused_naming_both()
    {
        string path = Path.Combine(dir, "mixed");
        using (var store = EmbeddingStore.Create(path, Small, 4))
        {
            using var x = torch.ones(1, 4);
            store.Append(x, ["x"]);
            store.Save();
            var inline = Assert.Throws<EmbeddingStoreMismatchException>(() => store.Append(x, ["y"], producedBy: Base));
            Assert.Contains("vit_small_patch14_dinov2", inline.Message);
            Assert.Contains("vit_base_patch14_dinov2", inline.Message);
        }
        var e = Assert.Throws<EmbeddingStoreMismatchException>(() => EmbeddingStore.OpenForAppend(path, Base));
        Assert.Contains("vit_small_patch14_dinov2 (weights ab12cd34ef56", e.Message);
        Assert.Contains("vit_base_patch14_dinov2 (weights 998877665544", e.Message);
        using var other = EmbeddingStore.Create(Path.Combine(dir, "other"), Base, 4);
        using var existing = EmbeddingStore.Open(path);
        Assert.Throws<EmbeddingStoreMismatchException>(() => existing.Append(other));
    }

    [Fact]
    public void Truncated_or_missing_files_give_a_one_line_error()
    {
        string path = Path.Combine(dir, "cut");
        using (var store = EmbeddingStore.Create(path, Small, 8))
        {
            using var x = torch.randn(10, 8);
            store.Append(x, Enumerable.Range(0, 10).Select(i => $"{i}.jpg").ToList());
            store.Save();
        }
        var bytes = File.ReadAllBytes(path + ".safetensors");
        File.WriteAllBytes(path + ".safetensors", bytes[..^40]);
        var e = Assert.Throws<InvalidDataException>(() => EmbeddingStore.Open(path));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("cut.safetensors", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        File.Delete(path + ".json");
        var missing = Assert.Throws<FileNotFoundException>(() => EmbeddingStore.Open(path));
        Assert.Contains("cut.json is missing", missing.Message);
        Assert.Throws<IOException>(() => EmbeddingStore.Create(path, Small, 8));   // refuses to clobber
    }

    [Fact]
    public void Append_checks_shapes_and_labels()
    {
        using var store = EmbeddingStore.Create(Path.Combine(dir, "s"), Small, 4);
        using var wrongWidth = torch.ones(2, 5);
        using var ok = torch.ones(2, 4);
        Assert.Contains("width 5", Assert.Throws<ArgumentException>(() => store.Append(wrongWidth, ["a", "b"])).Message);
        Assert.Contains("1 paths for 2", Assert.Throws<ArgumentException>(() => store.Append(ok, ["a"])).Message);
        Assert.Contains("labels[1] = -3", Assert.Throws<ArgumentOutOfRangeException>(() => store.Append(ok, ["a", "b"], [0, -3])).Message);
    }
}
