#include "model/yolo_head.h"

#include "common/error.h"

#include <ATen/ATen.h>

namespace tyq {
namespace {

using at::indexing::Ellipsis;
using at::indexing::Slice;

struct HeadLayout {
    int64_t n, anchors, attrs, h, w;
};

HeadLayout layoutOf(const at::Tensor& raw, const YoloSpec& yolo)
{
    const int64_t anchors = static_cast<int64_t>(yolo.anchors.size());
    const int64_t attrs = 5 + yolo.classes;
    if (raw.dim() != 4 || raw.size(1) != anchors * attrs)
        throw Error("yolo layer input has shape " + c10::str(raw.sizes()) + ", expected [N, " +
                    std::to_string(anchors * attrs) + ", H, W]");
    return {raw.size(0), anchors, attrs, raw.size(2), raw.size(3)};
}

// Anchor sizes in grid cells, shape [1, A, 1, 1] each.
std::pair<at::Tensor, at::Tensor> scaledAnchors(const YoloSpec& yolo, double stride)
{
    std::vector<float> w, h;
    for (const Anchor& a : yolo.anchors) {
        w.push_back(static_cast<float>(a.width / stride));
        h.push_back(static_cast<float>(a.height / stride));
    }
    const int64_t count = static_cast<int64_t>(w.size());
    return {at::tensor(w).view({1, count, 1, 1}), at::tensor(h).view({1, count, 1, 1})};
}

double safeMean(const at::Tensor& t)
{
    return t.numel() > 0 ? t.mean().item<double>() : 0.0;
}

} // namespace

at::Tensor decodeYoloOutput(const at::Tensor& raw, const YoloSpec& yolo, int64_t inputHeight)
{
    const HeadLayout l = layoutOf(raw, yolo);
    const at::Tensor pred = raw.view({l.n, l.anchors, l.attrs, l.h, l.w}).permute({0, 1, 3, 4, 2}).contiguous();
    const double stride = static_cast<double>(inputHeight) / static_cast<double>(l.h);

    const at::Tensor x = at::sigmoid(pred.index({Ellipsis, 0}));
    const at::Tensor y = at::sigmoid(pred.index({Ellipsis, 1}));
    const at::Tensor w = pred.index({Ellipsis, 2});
    const at::Tensor h = pred.index({Ellipsis, 3});
    const at::Tensor conf = at::sigmoid(pred.index({Ellipsis, 4}));
    const at::Tensor cls = at::sigmoid(pred.index({Ellipsis, Slice(5, at::indexing::None)}));

    const auto options = pred.options();
    const at::Tensor gridX = at::arange(l.w, options).repeat({l.h, 1}).view({1, 1, l.h, l.w});
    const at::Tensor gridY = at::arange(l.h, options).repeat({l.w, 1}).t().contiguous().view({1, 1, l.h, l.w});
    const auto [anchorW, anchorH] = scaledAnchors(yolo, stride);

    const at::Tensor boxes = at::stack({x + gridX, y + gridY, at::exp(w) * anchorW.to(options),
                                           at::exp(h) * anchorH.to(options)},
                                          -1);
    return at::cat({boxes.view({l.n, -1, 4}) * stride, conf.view({l.n, -1, 1}), cls.reshape({l.n, -1, yolo.classes})},
                      -1);
}

YoloLoss yoloLoss(const at::Tensor& raw, const YoloSpec& yolo, const at::Tensor& targets, int64_t inputHeight,
                  const LossNormalizers& normalizers)
{
    const HeadLayout l = layoutOf(raw, yolo);
    const at::Tensor pred = raw.view({l.n, l.anchors, l.attrs, l.h, l.w}).permute({0, 1, 3, 4, 2}).contiguous();
    const double stride = static_cast<double>(inputHeight) / static_cast<double>(l.h);

    const at::Tensor x = at::sigmoid(pred.index({Ellipsis, 0}));
    const at::Tensor y = at::sigmoid(pred.index({Ellipsis, 1}));
    const at::Tensor w = pred.index({Ellipsis, 2});
    const at::Tensor h = pred.index({Ellipsis, 3});
    const at::Tensor conf = at::sigmoid(pred.index({Ellipsis, 4}));
    const at::Tensor cls = at::sigmoid(pred.index({Ellipsis, Slice(5, at::indexing::None)}));

    const auto [anchorW, anchorH] = scaledAnchors(yolo, stride);
    const auto boolOptions = at::TensorOptions().dtype(at::kBool);
    const auto floatOptions = at::TensorOptions().dtype(at::kFloat);
    at::Tensor objMask = at::zeros({l.n, l.anchors, l.h, l.w}, boolOptions);
    at::Tensor noobjMask = at::ones({l.n, l.anchors, l.h, l.w}, boolOptions);
    at::Tensor classMask = at::zeros({l.n, l.anchors, l.h, l.w}, floatOptions);
    at::Tensor iouScores = at::zeros({l.n, l.anchors, l.h, l.w}, floatOptions);
    at::Tensor tx = at::zeros({l.n, l.anchors, l.h, l.w}, floatOptions);
    at::Tensor ty = at::zeros_like(tx), tw = at::zeros_like(tx), th = at::zeros_like(tx);
    at::Tensor tcls = at::zeros({l.n, l.anchors, l.h, l.w, yolo.classes}, floatOptions);

    YoloLoss out;
    const at::Tensor t = targets.to(at::kFloat).reshape({-1, 6});
    out.targets = t.size(0);
    if (out.targets > 0) {
        at::NoGradGuard noGrad;
        const at::Tensor b = t.index({Slice(), 0}).to(at::kLong);
        const at::Tensor labels = t.index({Slice(), 1}).to(at::kLong);
        if (b.min().item<int64_t>() < 0 || b.max().item<int64_t>() >= l.n || labels.min().item<int64_t>() < 0 ||
            labels.max().item<int64_t>() >= yolo.classes)
            throw Error("loss targets refer to an image or class that does not exist");
        const at::Tensor gx = t.index({Slice(), 2}) * l.w;
        const at::Tensor gy = t.index({Slice(), 3}) * l.h;
        const at::Tensor gw = t.index({Slice(), 4}) * l.w;
        const at::Tensor gh = t.index({Slice(), 5}) * l.h;

        // Width/height IoU of each anchor with each target (boxes aligned at a corner): [A, T].
        const at::Tensor aw = anchorW.view({l.anchors, 1});
        const at::Tensor ah = anchorH.view({l.anchors, 1});
        const at::Tensor inter = at::min(aw, gw.view({1, -1})) * at::min(ah, gh.view({1, -1}));
        const at::Tensor ious = inter / (aw * ah + gw.view({1, -1}) * gh.view({1, -1}) - inter + 1e-16);
        const at::Tensor best = std::get<1>(ious.max(0));

        // A centre exactly on the right or bottom edge would index past the grid (a reference bug).
        const at::Tensor gi = gx.floor().to(at::kLong).clamp(0, l.w - 1);
        const at::Tensor gj = gy.floor().to(at::kLong).clamp(0, l.h - 1);

        objMask.index_put_({b, best, gj, gi}, true);
        noobjMask.index_put_({b, best, gj, gi}, false);
        for (int64_t a = 0; a < l.anchors; ++a) {
            const at::Tensor ignore = ious[a] > yolo.ignoreThreshold;
            if (ignore.any().item<bool>())
                noobjMask.index_put_({b.index({ignore}), a, gj.index({ignore}), gi.index({ignore})}, false);
        }
        tx.index_put_({b, best, gj, gi}, gx - gx.floor());
        ty.index_put_({b, best, gj, gi}, gy - gy.floor());
        tw.index_put_({b, best, gj, gi}, at::log(gw / aw.view({-1}).index({best}) + 1e-16));
        th.index_put_({b, best, gj, gi}, at::log(gh / ah.view({-1}).index({best}) + 1e-16));
        tcls.index_put_({b, best, gj, gi, labels}, 1.0f);

        // Diagnostics: class of the responsible cell, IoU of its box with the target.
        const at::Tensor cellCls = cls.detach().index({b, best, gj, gi});
        classMask.index_put_({b, best, gj, gi}, (std::get<1>(cellCls.max(-1)) == labels).to(at::kFloat));
        const at::Tensor px = x.detach().index({b, best, gj, gi}) + gi.to(at::kFloat);
        const at::Tensor py = y.detach().index({b, best, gj, gi}) + gj.to(at::kFloat);
        const at::Tensor pw = at::exp(w.detach().index({b, best, gj, gi})) * aw.view({-1}).index({best});
        const at::Tensor ph = at::exp(h.detach().index({b, best, gj, gi})) * ah.view({-1}).index({best});
        const at::Tensor ix = (at::min(px + pw / 2, gx + gw / 2) - at::max(px - pw / 2, gx - gw / 2)).clamp_min(0);
        const at::Tensor iy = (at::min(py + ph / 2, gy + gh / 2) - at::max(py - ph / 2, gy - gh / 2)).clamp_min(0);
        const at::Tensor boxInter = ix * iy;
        iouScores.index_put_({b, best, gj, gi}, boxInter / (pw * ph + gw * gh - boxInter + 1e-16));
    }

    const at::Tensor zero = at::zeros({}, pred.options());
    const at::Tensor objConf = conf.index({objMask});
    const at::Tensor noobjConf = conf.index({noobjMask});
    at::Tensor lossX, lossY, lossW, lossH, lossConfObj, lossConfNoobj, lossCls;
    if (!normalizers) {
        auto maskedMse = [&](const at::Tensor& p, const at::Tensor& target) {
            return out.targets > 0 ? at::mse_loss(p.index({objMask}), target.index({objMask})) : zero;
        };
        lossX = maskedMse(x, tx);
        lossY = maskedMse(y, ty);
        lossW = maskedMse(w, tw);
        lossH = maskedMse(h, th);
        lossConfObj = objConf.numel() > 0 ? at::binary_cross_entropy(objConf, at::ones_like(objConf)) : zero;
        lossConfNoobj = noobjConf.numel() > 0 ? at::binary_cross_entropy(noobjConf, at::zeros_like(noobjConf)) : zero;
        lossCls = out.targets > 0 ? at::binary_cross_entropy(cls.index({objMask}), tcls.index({objMask})) : zero;
    } else {
        // The same means, as sums over this batch's cells divided by the given counts.
        at::Tensor counts = at::tensor({static_cast<double>(objConf.numel()), static_cast<double>(noobjConf.numel())},
                                       at::kDouble);
        normalizers(counts);
        const double objects = counts[0].item<double>();
        const double empty = counts[1].item<double>();
        const auto sum = at::Reduction::Sum;
        auto over = [&](const at::Tensor& total, double divisor) { return divisor > 0 ? total / divisor : zero; };
        auto maskedSse = [&](const at::Tensor& p, const at::Tensor& target) {
            return over(at::mse_loss(p.index({objMask}), target.index({objMask}), sum), objects);
        };
        lossX = maskedSse(x, tx);
        lossY = maskedSse(y, ty);
        lossW = maskedSse(w, tw);
        lossH = maskedSse(h, th);
        lossConfObj = over(at::binary_cross_entropy(objConf, at::ones_like(objConf), {}, sum), objects);
        lossConfNoobj = over(at::binary_cross_entropy(noobjConf, at::zeros_like(noobjConf), {}, sum), empty);
        lossCls = over(at::binary_cross_entropy(cls.index({objMask}), tcls.index({objMask}), {}, sum),
                       objects * yolo.classes);
    }
    out.total = lossX + lossY + lossW + lossH + lossConfObj + kNoObjectScale * lossConfNoobj + lossCls;

    out.x = lossX.item<double>();
    out.y = lossY.item<double>();
    out.w = lossW.item<double>();
    out.h = lossH.item<double>();
    out.confObj = lossConfObj.item<double>();
    out.confNoobj = lossConfNoobj.item<double>();
    out.cls = lossCls.item<double>();

    const at::Tensor confDetached = conf.detach();
    const at::Tensor conf50 = (confDetached > 0.5).to(at::kFloat);
    const at::Tensor tconf = objMask.to(at::kFloat);
    const at::Tensor detected = conf50 * classMask * tconf;
    const at::Tensor hits50 = ((iouScores > 0.5).to(at::kFloat) * detected).sum();
    const at::Tensor hits75 = ((iouScores > 0.75).to(at::kFloat) * detected).sum();
    const double numObj = tconf.sum().item<double>();
    out.classAccuracy = 100.0 * safeMean(classMask.index({objMask}));
    out.precision = hits50.item<double>() / (conf50.sum().item<double>() + 1e-16);
    out.recall50 = hits50.item<double>() / (numObj + 1e-16);
    out.recall75 = hits75.item<double>() / (numObj + 1e-16);
    out.meanConfObj = safeMean(confDetached.index({objMask}));
    out.meanConfNoobj = safeMean(confDetached.index({noobjMask}));
    return out;
}

} // namespace tyq
