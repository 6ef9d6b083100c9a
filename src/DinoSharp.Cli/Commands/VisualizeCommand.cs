using System.ComponentModel;
using DinoSharp.Data;
using DinoSharp.Models;
using DinoSharp.Visualize;
using Spectre.Console.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Cli.Commands;

internal sealed class VisualizeCommand : Command<VisualizeCommand.Settings>
{
    /// <summary>Images per forward (attention weights are [B, heads, T, T]: 25 MB per image for ViT-S/14 at 448 px).</summary>
    const int Batch = 4;

    public sealed class Settings : ModelSettings
    {
        [CommandOption("--images <PATH>")]
        [Description("An image file or a folder of images; repeat the option for more.")]
        public string[] Images { get; init; } = [];

        [CommandOption("--out <DIR>")]
        [Description("Folder for the PNGs (default: beside each input).")]
        public string? Out { get; init; }

        [CommandOption("--foreground <T>")]
        [Description("Keep patches whose first principal component (scaled to 0…1) is above T, e.g. 0.35 as in the DINOv2 demo; the rest turn black.")]
        public double? Foreground { get; init; }

        [CommandOption("--foreground-below")]
        [Description("With --foreground: the foreground is below the threshold instead (which side it is depends on the model).")]
        public bool ForegroundBelow { get; init; }

        [CommandOption("--refit")]
        [Description("With --foreground: fit a second PCA on the foreground patches only and colour them with it.")]
        public bool Refit { get; init; }

        [CommandOption("--tile <PX>")]
        [Description("Side of each head's tile in the attention picture (default 160).")]
        public int Tile { get; init; } = 160;
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.Images.Length == 0)
            throw new UserErrorException("--images is required: an image file or a folder (repeat --images for more).");
        if (s.Foreground is { } t && t is < 0 or > 1) throw new UserErrorException($"--foreground {t}: must be in [0, 1].");
        if ((s.Refit || s.ForegroundBelow) && s.Foreground is null) throw new UserErrorException("--refit and --foreground-below need --foreground <T>.");
        if (s.Tile < 16) throw new UserErrorException($"--tile {s.Tile}: must be at least 16 pixels.");

        OutputPath.CheckFolder("--out", s.Out);
        var files = ImageFiles(s.Images);
        // The one rule for unreadable images: skipped with a warning naming each, counted; checked before anything is written.
        var unreadable = new UnreadableImages(Messages.Warning);
        var images = new List<RgbImage>();
        foreach (var f in files.ToList())
        {
            if (unreadable.TryDecode(f, out var image)) images.Add(image);
            else files.Remove(f);
        }
        if (images.Count == 0)
            throw new UserErrorException($"--images: none of the {unreadable.Count} image(s) could be decoded (the first: {unreadable.Messages[0]}).");
        if (unreadable.Summary is { } summary) Messages.Warning(summary);

        using var embedder = s.OpenModel();
        if (embedder is not BackboneEmbedder backbone)
            throw new UserErrorException($"--model {s.Model}: visualize needs a Vision Transformer, not the raw-pixel baseline.");
        var vit = backbone.Extractor.Backbone;
        int size = s.ImageSize ?? backbone.Extractor.Preprocessing.Size;
        if (size <= 0 || size % vit.PatchSize != 0)
            throw new UserErrorException($"--image-size {size}: must be a positive multiple of the patch size {vit.PatchSize}.");
        // The whole image stretched to size × size (no centre crop), so the maps cover and align with the full picture.
        using var extractor = new FeatureExtractor(vit, new Preprocessing { Size = size, ResizeShorter = 0 }, backbone.Extractor.Device) { Precision = backbone.Extractor.Precision };
        int grid = size / vit.PatchSize;

        var patchParts = new List<Tensor>();
        var attention = new List<Tensor>();
        for (int start = 0; start < images.Count; start += Batch)
        {
            using var scope = torch.NewDisposeScope();
            var chunk = images.Skip(start).Take(Batch).ToList();
            using var x = extractor.Preprocess(chunk);
            using var features = extractor.Extract(x);
            patchParts.Add(features.PatchTokens.reshape(chunk.Count, grid, grid, -1).cpu().MoveToOuterDisposeScope());  // [b, h, w, D]
            if (vit is not DinoVisionTransformer) continue;                                                      // a ConvNeXt has no attention
            var maps = extractor.ClsAttentionMaps(x).cpu();                                                       // [b, heads, h, w]
            for (int i = 0; i < chunk.Count; i++) attention.Add(maps[i].MoveToOuterDisposeScope());
        }
        using var patches = torch.cat(patchParts, 0);
        foreach (var p in patchParts) p.Dispose();
        var pca = PatchPca.Compute(patches, new PatchPcaOptions
        {
            ForegroundThreshold = s.Foreground, ForegroundAbove = !s.ForegroundBelow, RefitOnForeground = s.Refit,
        });

        var outputs = new OutputFiles();
        var names = OutputStems(files);
        for (int i = 0; i < files.Count; i++)
        {
            string dir = s.Out ?? Path.GetDirectoryName(Path.GetFullPath(files[i]))!;
            outputs.AddPng(Path.Combine(dir, names[i] + ".pca.png"),
                Png.Resize(pca.Images[i], images[i].Width, images[i].Height, smooth: false));
            if (attention.Count == 0) continue;
            outputs.AddPng(Path.Combine(dir, names[i] + ".attention.png"),
                AttentionMapPainter.Render(attention[i], new AttentionMapOptions { TileSize = s.Tile, Background = images[i] }));
            attention[i].Dispose();
        }
        var written = outputs.Commit();
        if (!s.Quiet)
        {
            Console.WriteLine($"{files.Count} image(s) at {size}×{size} px ({grid}×{grid} patches), {(vit is DinoVisionTransformer v ? $"{v.Config.NumHeads} heads" : "a ConvNeXt: no attention maps, PCA only")}; " +
                $"PCA explained variance {string.Join(" / ", pca.ExplainedVarianceRatio.Select(r => r.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)))}.");
            foreach (var path in written) Console.WriteLine($"Wrote {path}");
        }
        return CliRunner.Ok;
    }

    /// <summary>Files as given and the image files of folders (sorted); anything else is a user error.</summary>
    static List<string> ImageFiles(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (File.Exists(input)) files.Add(input);
            else if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input).Where(FolderDataset.IsImagePath)
                    .Where(f => !f.EndsWith(".pca.png", StringComparison.OrdinalIgnoreCase) && !f.EndsWith(".attention.png", StringComparison.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new UserErrorException($"--images {input}: the folder holds no images.");
                files.AddRange(found);
            }
            else throw new UserErrorException($"--images {input}: no such file or folder.");
        }
        return files;
    }

    /// <summary>File names without extension, made unique with -2, -3, … when two inputs share one.</summary>
    static List<string> OutputStems(IReadOnlyList<string> files)
    {
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        return files.Select(f =>
        {
            string stem = Path.GetFileNameWithoutExtension(f);
            int n = seen[stem] = seen.GetValueOrDefault(stem) + 1;
            return n == 1 ? stem : $"{stem}-{n}";
        }).ToList();
    }
}
