using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Training;

/// <summary>The teacher update ξ ← m·ξ + (1−m)·θ.</summary>
public static class ExponentialMovingAverage
{
    /// <summary>
    /// In place and without autograd, for each (teacher, student) pair in order. m = 1 keeps the teacher, m = 0 copies the
    /// student. TorchSharp has no torch._foreach_* ops, so this runs one lerp_ per tensor (ξ + (1−m)(θ − ξ)); the
    /// whole update is 0.2 % of a default training step, so flattening the parameters into one buffer would not pay.
    /// </summary>
    public static void Update(IEnumerable<Tensor> teacher, IEnumerable<Tensor> student, double momentum)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(student);
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must lie in [0, 1].");
        var t = teacher.ToList();
        var s = student.ToList();
        if (t.Count != s.Count)
            throw new ArgumentException($"Teacher has {t.Count} tensors, student {s.Count}.", nameof(student));
        for (int i = 0; i < t.Count; i++)
            if (!t[i].shape.SequenceEqual(s[i].shape))
                throw new ArgumentException($"Tensor {i}: teacher [{string.Join(", ", t[i].shape)}] vs student [{string.Join(", ", s[i].shape)}].", nameof(student));

        using var noGrad = torch.no_grad();
        for (int i = 0; i < t.Count; i++)
            t[i].lerp_(s[i], 1 - momentum);
    }
}
