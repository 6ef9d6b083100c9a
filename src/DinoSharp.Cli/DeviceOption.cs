using System.Globalization;

namespace DinoSharp.Cli;

/// <summary>The --device value: checked in words before libtorch is asked for a device it cannot give.</summary>
internal static class DeviceOption
{
    /// <summary>What a user needs to know when asking a CPU-only build for CUDA.</summary>
    public const string CudaBuildHint =
        "a CUDA build references the TorchSharp-cuda-linux package (libtorch with CUDA) instead of libtorch-cpu-linux-x64 and needs an NVIDIA GPU and driver (untested here)";

    /// <summary>Throws <see cref="UserErrorException"/> unless <paramref name="device"/> is cpu, or cuda / cuda:N on a build and machine that have CUDA.</summary>
    public static void Check(string device)
    {
        string d = device.Trim().ToLowerInvariant();
        if (d == "cpu") return;
        if (d != "cuda" && !(d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d[5..], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            throw new UserErrorException($"--device {device}: use cpu, cuda or cuda:N (N the GPU number).");
        if (!HasCuda())
            throw new UserErrorException($"--device {device}: this build of dino has no CUDA (it uses libtorch's CPU package); {CudaBuildHint}. Use --device cpu.");
        if (d.StartsWith("cuda:", StringComparison.Ordinal) && int.Parse(d[5..], CultureInfo.InvariantCulture) >= TorchSharp.torch.cuda.device_count())
            throw new UserErrorException($"--device {device}: this machine has {TorchSharp.torch.cuda.device_count()} CUDA device(s), numbered from 0.");
    }

    static bool HasCuda()
    {
        try { return TorchSharp.torch.cuda.is_available(); }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or InvalidOperationException) { return false; }
    }
}
