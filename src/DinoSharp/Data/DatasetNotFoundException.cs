namespace DinoSharp.Data;

/// <summary>A named dataset is not installed where it is expected; the message says how to install it.</summary>
public sealed class DatasetNotFoundException : Exception
{
    public DatasetNotFoundException(string message) : base(message) { }
}
