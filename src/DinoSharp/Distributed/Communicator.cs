using System.Globalization;

namespace DinoSharp.Distributed;

/// <summary>Picks the communicator of this process from the launcher's environment.</summary>
public static class Communicator
{
    /// <summary>Open MPI's mpirun sets these in every rank's environment.</summary>
    public const string RankVariable = "OMPI_COMM_WORLD_RANK", SizeVariable = "OMPI_COMM_WORLD_SIZE";

    /// <summary>
    /// This process's rank and the job size when started by Open MPI's <c>mpirun</c> with more than one process, else
    /// null. Needs no MPI call, so commands that only split work (sharded embedding) use it without initialising MPI.
    /// </summary>
    /// <exception cref="DistributedSetupException">Started by another MPI's launcher (MPICH, Intel MPI), whose ABI the binding does not speak.</exception>
    public static Shard? LaunchedRank()
    {
        string? size = Environment.GetEnvironmentVariable(SizeVariable), rank = Environment.GetEnvironmentVariable(RankVariable);
        if (size is null || rank is null)
        {
            if (int.TryParse(Environment.GetEnvironmentVariable("PMI_SIZE"), out int pmi) && pmi > 1)
                throw new DistributedSetupException("Started by an MPI launcher other than Open MPI's (PMI_SIZE is set): DinoSharp speaks Open MPI's ABI; launch it with Open MPI's mpirun.");
            return null;
        }
        if (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || !int.TryParse(rank, NumberStyles.None, CultureInfo.InvariantCulture, out int r) || n < 1 || r >= n)
            throw new DistributedSetupException($"{RankVariable}={rank} and {SizeVariable}={size} are not a rank and a job size.");
        return n == 1 ? null : new Shard(r, n);
    }

    /// <summary>MPI's world when started by <c>mpirun -np N</c> with N &gt; 1; otherwise a single-process communicator.</summary>
    /// <exception cref="DistributedSetupException">Under mpirun without Open MPI's library installed.</exception>
    public static ICommunicator FromEnvironment()
    {
        if (LaunchedRank() is not { } launched) return new SingleProcessCommunicator();
        MpiCommunicator world;
        try { world = MpiCommunicator.World; }
        catch (DllNotFoundException)
        {
            throw new DistributedSetupException($"Started by mpirun ({SizeVariable}={launched.Count}) but Open MPI's {OpenMpiNative.Library} cannot be loaded: install it (Debian: apt-get install openmpi-bin).");
        }
        if (world.Rank != launched.Index || world.WorldSize != launched.Count)
            throw new DistributedSetupException($"MPI reports rank {world.Rank} of {world.WorldSize}, the environment {launched}.");
        return world;
    }
}
