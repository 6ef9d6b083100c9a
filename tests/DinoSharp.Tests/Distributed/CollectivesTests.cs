using DinoSharp.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace DinoSharp.Tests.Distributed;

public sealed class CollectivesTests
{
    /// <summary>Two ranks holding the same tensors: a sum doubles every element; records the buffers it is given.</summary>
    sealed class TwoIdenticalRanks : ICommunicator
    {
        public List<(ScalarType Type, long Elements)> Calls { get; } = [];
        public int Rank => 0;
        public int WorldSize => 2;
        public void AllReduceSum(Tensor buffer)
        {
            Assert.True(buffer.is_contiguous() && buffer.device_type == DeviceType.CPU);
            Calls.Add((buffer.dtype, buffer.numel()));
            buffer.mul_(2);
        }
        public void Broadcast(Tensor buffer, int root = 0) => Calls.Add((buffer.dtype, buffer.numel()));
        public void Barrier() { }
        public void Dispose() { }
    }

    [Fact]
    public void Tensors_are_reduced_in_flat_chunks_and_come_back_in_place()
    {
        var comm = new TwoIdenticalRanks();
        var tensors = new List<Tensor> { torch.randn(3, 4), torch.randn(5), torch.randn(2, 2, 2, ScalarType.Float64), torch.randn(9) };
        var before = tensors.Select(t => t.clone()).ToList();
        comm.AllReduceMean(tensors, chunkElements: 10);
        for (int i = 0; i < tensors.Count; i++)
            Assert.True(before[i].allclose(tensors[i]), $"tensor {i} changed");
        // 26 float32 elements in chunks of at most 10 (tensors split across chunks), then the 8 float64 ones.
        Assert.Equal([(ScalarType.Float32, 10L), (ScalarType.Float32, 10L), (ScalarType.Float32, 6L), (ScalarType.Float64, 8L)], comm.Calls);
    }

    [Fact]
    public void One_process_needs_no_communication()
    {
        using var comm = new SingleProcessCommunicator();
        var t = torch.ones(4);
        comm.AllReduceMean([t]);
        comm.Broadcast([t]);
        Assert.Equal([3.0, 4.0], comm.SumAcrossRanks(3, 4));
        Assert.True(comm.Any(true));
        Assert.Equal("x", comm.BroadcastJson("x"));
        Assert.True(torch.ones(4).equal(t).all().item<bool>());
    }
}
