using DinoSharp.Cli;

return DinoApp.Run(args);
