using DinoSharp.Benchmarks;

// Usage: dotnet run -c Release --project bench/DinoSharp.Benchmarks -- <mode> [args]
string mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "diagnose":
        Diagnose.Run(args[1..]);
        return 0;
    case "step":
        StepBenchmark.Run(args[1..]);
        return 0;
    case "onnx":
        OnnxBenchmark.Run(args[1..]);
        return 0;
    case "ops":
        OpsBenchmark.Run(args[1..]);
        return 0;
    case "data":
        DataBenchmark.Run(args[1..]);
        return 0;
    case "allreduce":
        AllReduceBenchmark.Run(args[1..]);
        return 0;
    case "serve":
        ServeBenchmark.Run(args[1..]);
        return 0;
    default:
        Console.Error.WriteLine("Usage: DinoSharp.Benchmarks data [photo-folder] | step [config] [key=value …] | diagnose [config] [key=value …] | onnx [arch] [batch] [size] [seconds] [rounds] | ops [arch] [batch] [size] | allreduce [config …] (under mpirun) | serve [data] [model] [requests] [photos] [photo-model]");
        return 2;
}
