namespace DinoSharp.Training;

/// <summary>A configuration that cannot be used; the message names the key and what is allowed.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);
