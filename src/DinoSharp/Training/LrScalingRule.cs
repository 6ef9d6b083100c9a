namespace DinoSharp.Training;

/// <summary>How <c>optim.base_lr</c> is scaled with the total batch size (<c>optim.scaling_rule</c>).</summary>
public enum LrScalingRule
{
    /// <summary><c>sqrt_wrt_1024</c>: lr = base_lr · √(batch / 1024) (dinov2's default).</summary>
    SqrtWrt1024,

    /// <summary><c>linear_wrt_256</c>: lr = base_lr · batch / 256.</summary>
    LinearWrt256,

    /// <summary><c>none</c>: lr = base_lr whatever the batch.</summary>
    None,
}
