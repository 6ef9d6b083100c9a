namespace DinoSharp.Data;

/// <summary>A named dataset is not installed where it is expected; the message says how to install it.</summary>
public sealed class DatasetNotFoundException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> should name what is missing and how to install or create it.</summary>
    public DatasetNotFoundException(string message) : base(message) { }
}
