using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>Gradient-norm clipping (PyTorch's clip_grad_norm_ semantics).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the L2 norm of all gradients together, and returns
    /// that pre-clipping norm (NaN or ∞ when a gradient is not finite; the gradients are then left NaN, so check it).
    /// dinov2 clips each student submodule (backbone, dino_head, ibot_head) separately with max 3.0: call this once
    /// per submodule to reproduce that, or once on all parameters for global clipping. With
    /// <paramref name="maxNorm"/> = +∞ nothing is scaled and only the norm is measured (the config's clip_grad = 0).
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm = 3.0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "Max norm must be positive.");
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0.0;

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var device = grads[0].device;
        var total = torch.stack(grads.Select(g => g.norm().to(ScalarType.Float64).to(device))).norm();
        if (double.IsPositiveInfinity(maxNorm))
            return total.item<double>();
        var coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coefficient.to(g.dtype).to(g.device));
        return total.item<double>();
    }
}
