using System.Text.Json;

namespace DinoSharp.Training;

/// <summary>A config value that is not allowed; the loader puts the key in front of the message.</summary>
sealed class ConfigValueException(string message) : JsonException(message);
