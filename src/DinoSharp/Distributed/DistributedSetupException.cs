namespace DinoSharp.Distributed;

/// <summary>The processes of a job cannot work together as started (launcher, MPI library, ranks that disagree); the message says what to change.</summary>
public sealed class DistributedSetupException(string message, Exception? inner = null) : Exception(message, inner);
