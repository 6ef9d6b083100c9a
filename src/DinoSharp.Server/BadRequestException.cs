namespace DinoSharp.Server;

/// <summary>A request the explorer refuses with a status code and a one-line message (never a stack trace).</summary>
sealed class BadRequestException(string message, int status = StatusCodes.Status400BadRequest) : Exception(message)
{
    /// <summary>HTTP status to answer with (400 unless said otherwise).</summary>
    public int Status { get; } = status;
}
