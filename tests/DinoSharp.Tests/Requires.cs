using DinoSharp.Tests.Training;

namespace DinoSharp.Tests;

/// <summary>
/// What a test needs from the machine beyond the repository. Each check reports the test as skipped, naming what is
/// missing and how to install it, when the machine lacks it (the test must be a <c>[SkippableFact]</c> or
/// <c>[SkippableTheory]</c>); <c>scripts/test.sh</c> installs all of them, so in CI nothing is skipped.
/// </summary>
public static class Requires
{
    /// <summary>Debian's dataset-fashion-mnist.</summary>
    public static void FashionMnist() => Skip.IfNot(
        File.Exists(Path.Combine(DinoSharp.Data.FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz")),
        $"Fashion-MNIST is not installed in {DinoSharp.Data.FashionMnist.DefaultFolder} (apt-get install dataset-fashion-mnist; scripts/test.sh does it as root).");

    /// <summary>Real photos (python3-skimage's sample images, extracted by scripts/ensure-deps.sh), or DINOSHARP_PHOTOS.</summary>
    public static void Photos() => Skip.If(
        TestPhotos.Available < 4,
        $"Real test photos are missing in {TestPhotos.Folder} (scripts/ensure-deps.sh extracts python3-skimage's sample photos as root; or set DINOSHARP_PHOTOS).");

    /// <summary>ONNX's own checker for Debian's /usr/bin/python3 (python3-onnx).</summary>
    public static void OnnxChecker() => Skip.IfNot(
        PythonImports("onnx"),
        "The ONNX checker is not installed (apt-get install python3-onnx; scripts/test.sh does it as root).");

    static readonly Dictionary<string, bool> Imports = [];

    static bool PythonImports(string module)
    {
        lock (Imports)
        {
            if (Imports.TryGetValue(module, out bool ok)) return ok;
            if (!File.Exists("/usr/bin/python3")) return Imports[module] = false;
            var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("import " + module);
            using var python = System.Diagnostics.Process.Start(start)!;
            python.StandardOutput.ReadToEnd();
            python.StandardError.ReadToEnd();
            python.WaitForExit();
            return Imports[module] = python.ExitCode == 0;
        }
    }
}
