namespace DinoSharp.Interop;

/// <summary>A checkpoint that cannot be used: the message names the file and what is wrong with it.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : Exception(message, inner);
