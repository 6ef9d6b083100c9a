using System.Security.Cryptography;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Interop;

/// <summary>
/// The identity of a network's weights by content: the same tensors give the same hash whichever file, layout or
/// folder they were loaded from (a run's teacher, a converted .pth, a Hugging Face folder).
/// </summary>
public static class WeightsContent
{
    /// <summary>
    /// Hex SHA-256 over the state dict in key order: each entry's key, dtype, shape and little-endian values.
    /// Loading into one module puts every layout under the same keys, so only the values decide.
    /// </summary>
    public static string Sha256(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (key, tensor) in module.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            using var cpu = tensor.detach().cpu().contiguous();
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{key}|{cpu.dtype}|{string.Join(',', cpu.shape)}\n"));
            sha.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
