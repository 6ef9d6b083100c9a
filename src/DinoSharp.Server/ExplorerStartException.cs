namespace DinoSharp.Server;

/// <summary>The explorer cannot start as asked (a store of another model, a store held by another writer, a bad option); the message is one line a user can act on.</summary>
public sealed class ExplorerStartException(string message, Exception? inner = null) : Exception(message, inner);
