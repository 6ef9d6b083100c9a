using DinoSharp.Data;

namespace DinoSharp.Tests.Data;

public sealed class DatasetTests
{
    [Fact]
    public void Folder_with_class_subfolders_is_labelled_in_ordinal_order()
    {
        using var t = new TestImages();
        t.Write("dog/b.png", TestImages.Png(TestImages.Pattern(5, 4, 1)));
        t.Write("dog/a.PNG", TestImages.Png(TestImages.Pattern(5, 4, 2)));
        t.Write("cat/deep/x.png", TestImages.Png(TestImages.Pattern(6, 3, 3)));
        t.Write("cat/readme.txt", "not an image"u8.ToArray());

        var ds = new FolderDataset(t.Folder);
        Assert.Equal(3, ds.Count);
        Assert.Equal(["cat", "dog"], ds.ClassNames!);
        Assert.EndsWith(Path.Combine("cat", "deep", "x.png"), ds.Describe(0));
        Assert.EndsWith(Path.Combine("dog", "a.PNG"), ds.Describe(1));
        Assert.Equal([0, 1, 1], Enumerable.Range(0, 3).Select(i => ds.Label(i)!.Value));
        Assert.Equal(TestImages.Pattern(5, 4, 2).Pixels, ds.Load(1).Pixels);
    }

    [Fact]
    public void Folder_with_loose_images_is_unlabelled()
    {
        using var t = new TestImages();
        t.Write("top.png", TestImages.Png(TestImages.Pattern(4, 4)));
        t.Write("sub/inner.png", TestImages.Png(TestImages.Pattern(4, 4)));
        var ds = new FolderDataset(t.Folder);
        Assert.Equal(2, ds.Count);
        Assert.Null(ds.ClassNames);
        Assert.Null(ds.Label(0));
    }

    [Fact]
    public void Empty_folder_and_unknown_specs_fail_clearly()
    {
        using var t = new TestImages();
        t.Write("notes.txt", "x"u8.ToArray());
        var empty = Assert.Throws<DatasetNotFoundException>(() => DatasetSpec.Open(t.Folder));
        Assert.Contains("No images", empty.Message);
        Assert.Contains(t.Folder, empty.Message);

        var missing = Assert.Throws<DatasetNotFoundException>(() => DatasetSpec.Open("folder:/no/such/folder"));
        Assert.Contains("/no/such/folder", missing.Message);

        var unknown = Assert.Throws<ArgumentException>(() => DatasetSpec.Open("imagenet:train"));
        Assert.Contains("imagenet:train", unknown.Message);
        foreach (string form in new[] { "fashion-mnist:train", "fashion-mnist:test", "folder:", "idx:", "list:" })
            Assert.Contains(form, unknown.Message);
    }

    [Fact]
    public void Spec_forms_open_the_right_datasets()
    {
        using var t = new TestImages();
        t.Write("a/1.png", TestImages.Png(TestImages.Pattern(4, 4)));
        (string images, string labels) = t.FakeFashion(12);
        Assert.IsType<FolderDataset>(DatasetSpec.Open(t.PathOf("a")));
        Assert.IsType<FolderDataset>(DatasetSpec.Open("folder:" + t.PathOf("a")));
        var idx = Assert.IsType<IdxDataset>(DatasetSpec.Open($"idx:{images},{labels}"));
        Assert.Equal(12, idx.Count);
        Assert.Equal(3, idx.Label(3));
        Assert.Null(Assert.IsType<IdxDataset>(DatasetSpec.Open($"idx:{images}")).Label(0));
        File.WriteAllText(t.PathOf("l.txt"), "a/1.png\n");
        Assert.IsType<ListDataset>(DatasetSpec.Open("list:" + t.PathOf("l.txt")));

        var sub = DatasetSpec.Subset(idx, [5, 2]);
        Assert.Equal(2, sub.Count);
        Assert.Equal(idx.Load(2).Pixels, sub.Load(1).Pixels);
        Assert.Equal("idx:#5", sub.Describe(0));
        Assert.Equal(4, SubsetDataset.First(idx, 4).Count);
    }

    [Fact]
    public void Idx_images_are_grey_repeated_to_rgb_gzip_or_plain()
    {
        using var t = new TestImages();
        (string gzImages, string gzLabels) = t.FakeFashion(5, "gz", gzip: true, seed: 3);
        (string rawImages, _) = t.FakeFashion(5, "raw", gzip: false, seed: 3);
        var gz = new IdxDataset(gzImages, gzLabels);
        var raw = new IdxDataset(rawImages);
        var img = gz.Load(4);
        Assert.Equal((28, 28), (img.Width, img.Height));
        Assert.Equal(img.Pixels, raw.Load(4).Pixels);
        for (int i = 0; i < 28 * 28; i++)
        {
            Assert.Equal(img.Pixels[3 * i], img.Pixels[3 * i + 1]);
            Assert.Equal(img.Pixels[3 * i], img.Pixels[3 * i + 2]);
        }
        var pixels = new byte[5 * 28 * 28];
        new Random(3).NextBytes(pixels);
        Assert.Equal(pixels[4 * 784 + 100], img.Pixels[300]);
    }

    [Fact]
    public void Idx_headers_with_absurd_or_inconsistent_sizes_are_refused()
    {
        using var t = new TestImages();
        string absurd = t.PathOf("absurd.idx");
        TestImages.WriteIdx(absurd, [int.MaxValue, int.MaxValue, int.MaxValue], [1, 2, 3], gzip: true);
        var e = Assert.Throws<InvalidDataException>(() => new IdxDataset(absurd));
        Assert.Contains("refusing", e.Message);
        Assert.Contains(absurd, e.Message);

        string negative = t.PathOf("negative.idx");
        TestImages.WriteIdx(negative, [-1, 28, 28], [], gzip: false);
        Assert.Contains("negative", Assert.Throws<InvalidDataException>(() => new IdxDataset(negative)).Message);

        string truncated = t.PathOf("truncated.idx");
        TestImages.WriteIdx(truncated, [10, 28, 28], new byte[100], gzip: false);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => new IdxDataset(truncated)).Message);

        string badMagic = t.Write("magic.idx", [1, 2, 8, 3, 0, 0, 0, 0]);
        Assert.Contains("not an IDX", Assert.Throws<InvalidDataException>(() => new IdxDataset(badMagic)).Message);

        string rank = t.PathOf("rank.idx");
        TestImages.WriteIdx(rank, [4], new byte[4], gzip: false);
        Assert.Contains("dimensions", Assert.Throws<InvalidDataException>(() => new IdxDataset(rank)).Message);

        (string images, _) = t.FakeFashion(6, "six");
        (_, string labels) = t.FakeFashion(5, "five");
        Assert.Contains("labels", Assert.Throws<InvalidDataException>(() => new IdxDataset(images, labels)).Message);
    }

    [Fact]
    public void Fashion_mnist_reads_the_package_layout_and_names_the_install_command_when_missing()
    {
        using var t = new TestImages();
        t.FakeFashion(20, "train");
        t.FakeFashion(10, "t10k");
        var train = new FashionMnist(train: true, t.Folder);
        var test = new FashionMnist(train: false, t.Folder);
        Assert.Equal((20, 10), (train.Count, test.Count));
        Assert.Equal("fashion-mnist:train", train.Name);
        Assert.Equal("Ankle boot", train.ClassNames![train.Label(9)!.Value]);
        Assert.Equal(10, FashionMnist.Classes.Count);

        var e = Assert.Throws<DatasetNotFoundException>(() => new FashionMnist(true, Path.Combine(t.Folder, "nope")));
        Assert.Contains("sudo apt-get install -y dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void List_file_resolves_relative_paths_and_parses_labels()
    {
        using var t = new TestImages();
        t.Write("imgs/a.png", TestImages.Png(TestImages.Pattern(3, 3, 1)));
        t.Write("imgs/b c.png", TestImages.Png(TestImages.Pattern(3, 3, 2)));
        string abs = t.Write("other/x.png", TestImages.Png(TestImages.Pattern(3, 3, 3)));
        string list = t.PathOf("lists/train.txt");
        File.WriteAllText(list, $"# comment\n../imgs/a.png 4\n\n../imgs/b c.png 7\n{abs} 0\n");
        var ds = new ListDataset(list);
        Assert.Equal(3, ds.Count);
        Assert.Equal([4, 7, 0], Enumerable.Range(0, 3).Select(i => ds.Label(i)!.Value));
        Assert.Equal(TestImages.Pattern(3, 3, 2).Pixels, ds.Load(1).Pixels);
        Assert.Null(ds.ClassNames);

        string named = t.PathOf("lists/named.txt");
        File.WriteAllText(named, "../imgs/a.png\tzebra\n../imgs/b c.png\tant\n");
        var nds = new ListDataset(named);
        Assert.Equal(["ant", "zebra"], nds.ClassNames!);
        Assert.Equal(1, nds.Label(0));

        string plain = t.PathOf("lists/plain.txt");
        File.WriteAllText(plain, "../imgs/b c.png\n");
        Assert.EndsWith("b c.png", new ListDataset(plain).Describe(0));
        Assert.Null(new ListDataset(plain).Label(0));
    }
}
