using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Api.Benchmarks -- --filter '*'   (add --job short for a quick look)
BenchmarkSwitcher.FromAssembly(typeof(Api.Benchmarks.TokenValidationBenchmarks).Assembly).Run(args);
