// Kernel micro-benchmarks: each fast kernel against the ATen computation it replaces, on the
// shapes of the reduced Tiny-YOLO at 512x288, batch 8. Compare the pairs' items/s
// (e.g. BM_LsqForward/fused vs BM_LsqForward/aten) for the speed-up on this machine; and the
// integer engine and the training step as a whole, the loops to profile.
#include "common/compute_threads.h"
#include "hw/integer_engine.h"
#include "hw/integer_model.h"
#include "hw/onednn_integer_conv.h"
#include "kernels/integer_code_kernel.h"
#include "kernels/integer_conv_pool_kernel.h"
#include "kernels/max_pool_kernel.h"
#include "model/fast_ops.h"
#include "model/precision.h"
#include "model/yolo_network.h"
#include "perf/training_step.h"
#include "quant/lsq_quantizer.h"
#include "quant/quant_config.h"

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>

namespace {

// The first quantized activation of the 3-bit net: 8 x 16 x 288 x 512 (conv 0's output).
at::Tensor firstActivation()
{
    at::manual_seed(1);
    return at::rand({8, 16, 288, 512}) * 4.0;
}

void BM_LsqForward(benchmark::State& state, bool fused)
{
    const at::Tensor x = firstActivation();
    const at::Tensor s = at::full({1}, 0.5f);
    at::NoGradGuard noGrad;
    for (auto _ : state) {
        at::Tensor y = fused ? tyq::lsqFakeQuantizeFused(x, s, 0, 7) : tyq::lsqFakeQuantizeReference(x, s, 0, 7);
        benchmark::DoNotOptimize(y.data_ptr());
    }
    state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK_CAPTURE(BM_LsqForward, fused, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LsqForward, aten, false)->Unit(benchmark::kMillisecond);

void BM_LsqForwardBackward(benchmark::State& state, bool fused)
{
    const at::Tensor x0 = firstActivation();
    for (auto _ : state) {
        at::Tensor x = x0.detach().requires_grad_(true);
        at::Tensor s = at::full({1}, 0.5f).requires_grad_(true);
        at::Tensor y = fused ? tyq::lsqFakeQuantizeFused(x, s, 0, 7) : tyq::lsqFakeQuantizeReference(x, s, 0, 7);
        y.sum().backward();
        benchmark::DoNotOptimize(s.grad().data_ptr());
    }
    state.SetItemsProcessed(state.iterations() * x0.numel());
}
BENCHMARK_CAPTURE(BM_LsqForwardBackward, fused, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LsqForwardBackward, aten, false)->Unit(benchmark::kMillisecond);

void BM_MaxPool2x2(benchmark::State& state, bool kernel)
{
    const at::Tensor x = firstActivation();
    for (auto _ : state) {
        auto [y, indices] = kernel ? tyq::kernels::maxPool2x2WithIndices(x)
                                   : at::max_pool2d_with_indices(x, {2, 2}, {2, 2});
        benchmark::DoNotOptimize(indices.data_ptr());
    }
    state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK_CAPTURE(BM_MaxPool2x2, kernel, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MaxPool2x2, aten, false)->Unit(benchmark::kMillisecond);

// The channels-last pool of the fast and bf16 training paths, forward and backward, on conv 0's
// output in f32 or bf16: the kernel with one-byte windows (AVX-512; f32 also AVX2) against
// ATen's int64 indices.
void maxPool2x2ChannelsLast(benchmark::State& state, bool kernel, at::ScalarType type)
{
    const at::Tensor x0 = firstActivation().to(type).contiguous(at::MemoryFormat::ChannelsLast);
    if (kernel && !tyq::kernels::maxPool2x2ChannelsLastFits(x0)) {
        state.SkipWithError("no channels-last pool kernel for this type on this CPU");
        return;
    }
    const at::Tensor upstream = at::ones({8, 16, 144, 256}, type).contiguous(at::MemoryFormat::ChannelsLast);
    for (auto _ : state) {
        const at::Tensor x = x0.detach().requires_grad_(true);
        const at::Tensor y = kernel ? tyq::maxPool2x2(x) : at::max_pool2d(x, {2, 2}, {2, 2});
        y.backward(upstream);
        benchmark::DoNotOptimize(x.grad().data_ptr());
    }
    state.SetItemsProcessed(state.iterations() * x0.numel());
}
void BM_MaxPool2x2ChannelsLastBf16(benchmark::State& state, bool kernel)
{
    maxPool2x2ChannelsLast(state, kernel, at::kBFloat16);
}
void BM_MaxPool2x2ChannelsLastF32(benchmark::State& state, bool kernel)
{
    maxPool2x2ChannelsLast(state, kernel, at::kFloat);
}
BENCHMARK_CAPTURE(BM_MaxPool2x2ChannelsLastBf16, kernel, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MaxPool2x2ChannelsLastBf16, aten, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MaxPool2x2ChannelsLastF32, kernel, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MaxPool2x2ChannelsLastF32, aten, false)->Unit(benchmark::kMillisecond);

// Training batch norm of conv 0's f32 output (channels-last), forward and backward: tyq's kernels
// (their AVX-512 or baseline build, as cpuIsa() picks) against ATen's.
void BM_BatchNormChannelsLast(benchmark::State& state, bool kernel)
{
    const at::Tensor x0 = firstActivation().contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor upstream = at::ones_like(x0);
    torch::nn::BatchNorm2d bn(16);
    for (auto _ : state) {
        const at::Tensor x = x0.detach().requires_grad_(true);
        const at::Tensor y = kernel ? tyq::batchNormChannelsLast(*bn, x) : bn->forward(x);
        y.backward(upstream);
        benchmark::DoNotOptimize(x.grad().data_ptr());
    }
    state.SetItemsProcessed(state.iterations() * x0.numel());
}
BENCHMARK_CAPTURE(BM_BatchNormChannelsLast, kernel, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BatchNormChannelsLast, aten, false)->Unit(benchmark::kMillisecond);

// Training batch norm of conv 0's output and the 2x2 max-pool after it, forward and backward, in
// bf16 or f32 (channels-last): the fused passes (kernels/batch_norm_pool_kernel.h) against tyq's
// batch-norm kernels and then its max-pool kernel.
void batchNormMaxPool(benchmark::State& state, bool fused, at::ScalarType type)
{
    const at::Tensor x0 = firstActivation().to(type).contiguous(at::MemoryFormat::ChannelsLast);
    if (!tyq::batchNormMaxPool2x2Fits(x0)) {
        state.SkipWithError("the fused kernels need AVX-512 (F, BW, VL)");
        return;
    }
    const at::Tensor upstream = at::ones({8, 16, 144, 256}, x0.options());
    torch::nn::BatchNorm2d bn(16);
    for (auto _ : state) {
        const at::Tensor x = x0.detach().requires_grad_(true);
        const at::Tensor y = fused ? tyq::batchNormMaxPool2x2(*bn, x) : tyq::maxPool2x2(tyq::batchNormChannelsLast(*bn, x));
        y.backward(upstream);
        benchmark::DoNotOptimize(x.grad().data_ptr());
    }
    state.SetItemsProcessed(state.iterations() * x0.numel());
}
void BM_BatchNormMaxPoolBf16(benchmark::State& state, bool fused)
{
    batchNormMaxPool(state, fused, at::kBFloat16);
}
void BM_BatchNormMaxPoolF32(benchmark::State& state, bool fused)
{
    batchNormMaxPool(state, fused, at::kFloat);
}
BENCHMARK_CAPTURE(BM_BatchNormMaxPoolBf16, fused, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BatchNormMaxPoolBf16, composed, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BatchNormMaxPoolF32, fused, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BatchNormMaxPoolF32, composed, false)->Unit(benchmark::kMillisecond);

// The integer engine's first stage, 8 images: conv 0 (3 -> 16 channels, u8 pixels x s8 3-bit
// weight codes), requantization to 3-bit codes and the 2x2 max-pool. Fused in one pass (VNNI,
// or AVX2 with 16-bit sums), against oneDNN's convolution writing its int32 map and the pooled
// requantization reading it back.
void BM_IntegerFirstStage(benchmark::State& state, bool fused)
{
    if (fused && !tyq::kernels::fusedConvPoolAvailable()) {
        state.SkipWithError("neither AVX512_VNNI nor AVX2 on this CPU");
        return;
    }
    at::manual_seed(1);
    const at::Tensor weights = at::randint(-4, 4, {16, 3, 3, 3}, at::kInt);
    const at::Tensor pixels = at::randint(0, 256, {8, 3, 288, 512}, at::kInt).to(at::kByte).contiguous(at::MemoryFormat::ChannelsLast);
    std::vector<int64_t> multiplier(16, 77), offset(16, int64_t{1} << 15), shift(16, 16);
    const tyq::kernels::RequantizeTable table{multiplier.data(), offset.data(), shift.data(), 16, 0, 7};
    const tyq::kernels::MapShape shape{8, 288, 512, 3};
    const std::optional<tyq::kernels::FusedConvWeights> packed =
        tyq::kernels::packFusedConvWeights(weights.data_ptr<int32_t>(), 16, 3);
    const tyq::OneDnnIntegerConv conv(weights, 1, 1, 0, 255);
    std::vector<uint8_t> out(8 * 144 * 256 * 16);
    for (auto _ : state) {
        if (fused) {
            tyq::kernels::convRequantizeMaxPool(pixels.data_ptr<uint8_t>(), shape, *packed, table, out.data());
        } else {
            const at::Tensor acc = conv.runChannelsLast(pixels).contiguous(at::MemoryFormat::ChannelsLast);
            tyq::kernels::requantizeMaxPool(acc.data_ptr<int32_t>(), {8, 288, 512, 16}, 2, 2, 0, table, out.data());
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * 8);
}
BENCHMARK_CAPTURE(BM_IntegerFirstStage, fused, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_IntegerFirstStage, onednn_then_pool, false)->Unit(benchmark::kMillisecond);

// The integer engine on oneDNN int8 (the 3-bit default net, seeded weights), images per second
// at batch 1 and 8: the loop to profile when int_infer_b8 of `tyq bench` moves.
void BM_IntegerEngine(benchmark::State& state)
{
    at::manual_seed(1);
    tyq::YoloNetwork network(tyq::defaultNetworkSpec());
    network->initializeLikeReference();
    network->quantize(tyq::defaultQuantConfig());
    network->eval();
    const tyq::IntegerEngine engine(tyq::exportIntegerModel(*network, "micro-benchmark"));
    const at::Tensor pixels = (at::rand({state.range(0), 3, 288, 512}) * 255).round();
    for (auto _ : state) {
        at::Tensor rows = engine.detect(pixels);
        benchmark::DoNotOptimize(rows.data_ptr());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_IntegerEngine)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);

// A training step at batch 8 (fp or LSQ 3-bit; fp32 or bf16 mixed precision), as
// fp_train_b8(_bf16) and lsq_train_b8(_bf16) of `tyq bench` time it: the loop to profile when
// their ratio moves.
void BM_TrainingStep(benchmark::State& state, bool lsq, tyq::Precision precision)
{
    if (std::string why; !tyq::precisionSupported(precision, &why)) {
        state.SkipWithError(why.c_str());
        return;
    }
    at::manual_seed(1);
    tyq::YoloNetwork network(tyq::defaultNetworkSpec());
    network->initializeLikeReference();
    if (lsq)
        network->quantize(tyq::defaultQuantConfig());
    network->setExecution(tyq::NetworkExecution::forTraining(precision));
    const at::Tensor images = at::rand({8, 3, 288, 512}) * 255;
    std::vector<float> boxes;
    for (int i = 0; i < 8; ++i)
        boxes.insert(boxes.end(), {float(i), float(i % 12), 0.3f + 0.05f * float(i), 0.5f, 0.1f, 0.2f});
    tyq::TrainingStep step(network, images, at::tensor(boxes).view({8, 6}));
    step.run(); // oneDNN primitives, allocator cache
    for (auto _ : state)
        step.run();
    state.SetItemsProcessed(state.iterations() * 8);
}
BENCHMARK_CAPTURE(BM_TrainingStep, fp_fp32, false, tyq::Precision::fp32)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainingStep, fp_bf16, false, tyq::Precision::bf16)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainingStep, lsq_fp32, true, tyq::Precision::fp32)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainingStep, lsq_bf16, true, tyq::Precision::bf16)->Unit(benchmark::kMillisecond);

} // namespace

// As tyq does: every core (LibTorch would use one here) and tyq's caching allocator.
int main(int argc, char** argv)
{
    tyq::configureComputeThreads(0);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
