namespace DinoSharp.Training;

/// <summary>The parts of one training step, in the order they run.</summary>
public enum StepPhase
{
    /// <summary>Waiting for the loader's next batch (zero when the batch is already built).</summary>
    DataWait,
    /// <summary>Teacher backbone and heads on the global crops (no gradients).</summary>
    Teacher,
    /// <summary>Student backbone and heads on all crops, and the losses.</summary>
    StudentForward,
    /// <summary>Backward of the total loss.</summary>
    Backward,
    /// <summary>Gradient clipping and the AdamW step.</summary>
    Optimizer,
    /// <summary>Teacher ← EMA of the student.</summary>
    Ema,
}
