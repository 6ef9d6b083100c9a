using System.ComponentModel;
using DinoSharp.Interop;
using DinoSharp.Models;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Commands;

internal sealed class ConvertCommand : Command<ConvertCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--in <FILE>")]
        [Description("Backbone weights: .pth or .safetensors, a Hugging Face folder, or a run folder.")]
        public string In { get; init; } = "";

        [CommandOption("--arch <NAME>")]
        [Description("Architecture (vit_small, vit_large_reg4, dinov2_vitb14, ...); read from model.json beside --in (or a Hugging Face folder's config.json) when omitted.")]
        public string? Arch { get; init; }

        [CommandOption("--arch-file <MODEL_JSON>")]
        [Description("A model.json describing --in's architecture (docs/model-json.md), for sizes no --arch name covers.")]
        public string? ArchFile { get; init; }

        [CommandOption("--from <LAYOUT>")]
        [Description("Key layout of --in: meta (default), hf, teacher, student.")]
        public string From { get; init; } = "meta";

        [CommandOption("--to <LAYOUT>")]
        [Description("meta (a .pth or .safetensors file, by --out's extension) or hf (a folder with model.safetensors and config.json).")]
        public string To { get; init; } = "meta";

        [CommandOption("--out <PATH>")]
        [Description("Where to write: a .pth or .safetensors file (--to meta) or a folder (--to hf); missing folders are created.")]
        public string Out { get; init; } = "";
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.In) || string.IsNullOrWhiteSpace(s.Out))
            throw new UserErrorException("--in and --out are required, e.g. dino convert --in dinov2_vits14_pretrain.pth --arch vit_small --to hf --out hf/dinov2-small.");
        bool toHf = s.To.ToLowerInvariant() switch
        {
            "meta" => false,
            "hf" or "huggingface" => true,
            _ => throw new UserErrorException($"--to {s.To}: use meta or hf."),
        };
        if (toHf) OutputPath.CheckFolder("--out", Path.GetDirectoryName(Path.GetFullPath(s.Out)));
        else OutputPath.CheckFile("--out", s.Out);
        using var resolved = ModelResolver.OpenBackbone(s.In, new ModelRequest { Arch = s.Arch, ArchFile = s.ArchFile, Layout = ModelSettings.ParseLayout(s.From) });
        if (resolved.Backbone is ConvNeXt convNeXt)
        {
            if (toHf) OutputPath.Write(s.Out, staged => ConvNeXtCheckpoint.SaveHuggingFace(convNeXt, staged));
            else OutputPath.Write(s.Out, staged => ConvNeXtCheckpoint.SaveMeta(convNeXt, staged));
            Console.WriteLine($"Wrote {s.Out} ({s.To} layout, {ConvNeXtCheckpoint.Describe(convNeXt.Config)}).");
            return CliRunner.Ok;
        }
        var vit = resolved.Vit;
        string? periodsNote = null;
        if (toHf) OutputPath.Write(s.Out, staged => periodsNote = BackboneCheckpoint.SaveHuggingFace(vit, staged));
        else OutputPath.Write(s.Out, staged => BackboneCheckpoint.SaveMeta(vit, staged));
        // Hugging Face recomputes RoPE periods from rope_theta: the note says how far that moves this model's outputs.
        if (periodsNote is not null) Console.WriteLine(periodsNote);
        Console.WriteLine($"Wrote {s.Out} ({s.To} layout, {BackboneCheckpoint.Describe(vit.Config)}).");
        return CliRunner.Ok;
    }
}
