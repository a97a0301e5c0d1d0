// CSV training log and SVG loss plot (log.h).
#include "src/train/log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "weights/error.h"
#include "weights/files.h"

namespace lm {
namespace {

constexpr const char* kHeader = "step,loss,val_loss,lr,tokens_per_second,seconds";

std::string csv_line(const TrainLogRow& r) {
    char val[32] = "";
    if (r.val_loss >= 0) std::snprintf(val, sizeof val, "%.6f", r.val_loss);
    char line[256];
    std::snprintf(line, sizeof line, "%d,%.6f,%s,%.6g,%.1f,%.3f\n", r.step, r.loss, val, r.lr, r.tokens_per_second,
                  r.seconds);
    return line;
}

// A row written by csv_line; false for the header or a damaged line.
bool parse_csv_line(const std::string& line, TrainLogRow& r) {
    const std::vector<std::string> fields = files::split(line, ',');
    if (fields.size() != 6) return false;
    char* end = nullptr;
    r.step = static_cast<int>(std::strtol(fields[0].c_str(), &end, 10));
    if (fields[0].empty() || *end) return false;
    r.loss = std::strtod(fields[1].c_str(), nullptr);
    r.val_loss = fields[2].empty() ? -1 : std::strtod(fields[2].c_str(), nullptr);
    r.lr = std::strtod(fields[3].c_str(), nullptr);
    r.tokens_per_second = std::strtod(fields[4].c_str(), nullptr);
    r.seconds = std::strtod(fields[5].c_str(), nullptr);
    return true;
}

// Tick spacing of 1, 2 or 5 times a power of ten giving about `count` ticks over `span`.
double nice_step(double span, int count) {
    const double raw = span / count, power = std::pow(10.0, std::floor(std::log10(raw)));
    const double f = raw / power;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
}

std::string escape_xml(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '&') out += "&amp;";
        else if (c == '"') out += "&quot;";
        else out += c;
    }
    return out;
}

// `text` as the new content of `path`, through a temporary file renamed into place: a kill
// mid-write leaves the old file whole.
void replace_file(const std::string& path, const std::string& text, const char* what) {
    const std::string tmp = path + ".tmp";
    if (!files::write(tmp, text) || !files::rename(tmp, path).empty()) fail(path, ": cannot write the ", what);
}

}  // namespace

TrainLog::TrainLog(const std::string& path, int resume_step) : path_(path) {
    if (resume_step > 0) {
        std::string text;
        if (!files::read(path, text)) text.clear();
        for (const std::string& line : files::split(text, '\n')) {
            TrainLogRow r;
            if (parse_csv_line(line, r) && r.step <= resume_step) rows_.push_back(r);
        }
    }
    std::string text = std::string(kHeader) + "\n";
    for (const TrainLogRow& r : rows_) text += csv_line(r);
    replace_file(path, text, "training log");
}

void TrainLog::add(const TrainLogRow& row) {
    rows_.push_back(row);
    if (!files::write(path_, csv_line(row), /*append=*/true)) fail(path_, ": cannot write the training log");
}

std::string loss_plot_svg(const std::vector<TrainLogRow>& rows, const std::string& title) {
    const double width = 720, height = 420, left = 64, right = 20, top = 40, bottom = 48;
    const double plot_w = width - left - right, plot_h = height - top - bottom;
    double max_step = 1, lo = INFINITY, hi = -INFINITY;
    for (const TrainLogRow& r : rows) {
        max_step = std::max(max_step, static_cast<double>(r.step));
        for (double v : {r.loss, r.val_loss})
            if (v >= 0 && std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-6) lo -= 0.5, hi += 0.5;
    const double y_tick = nice_step(hi - lo, 6), x_tick = nice_step(max_step, 8);
    lo = std::floor(lo / y_tick) * y_tick, hi = std::ceil(hi / y_tick) * y_tick;
    auto x_of = [&](double step) { return left + plot_w * step / max_step; };
    auto y_of = [&](double loss) { return top + plot_h * (hi - loss) / (hi - lo); };

    std::string svg;
    char buf[256];
    auto put = [&](const char* fmt, auto... a) {
        std::snprintf(buf, sizeof buf, fmt, a...);
        svg += buf;
    };
    put("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n", width, height, width, height);
    put("<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    svg += concat("<text x=\"", left, "\" y=\"24\" font-size=\"14\">", escape_xml(title), "</text>\n");
    for (double y = lo; y <= hi + y_tick / 2; y += y_tick) {
        put("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y_of(y), left + plot_w, y_of(y));
        put("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", left - 6, y_of(y) + 4,
            y_tick < 0.1 ? 2 : 1, y);
    }
    for (double x = 0; x <= max_step + x_tick / 2; x += x_tick)
        put("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x_of(x), top + plot_h + 16, x);
    put("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n", left, top,
        plot_w, plot_h);
    put("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>\n", left + plot_w / 2, height - 10);
    put("<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">loss</text>\n",
        top + plot_h / 2, top + plot_h / 2);

    auto polyline = [&](bool val, const char* color, double stroke) {
        svg += concat("<polyline fill=\"none\" stroke=\"", color, "\" stroke-width=\"", stroke, "\" points=\"");
        for (const TrainLogRow& r : rows) {
            const double v = val ? r.val_loss : r.loss;
            if (v >= 0 && std::isfinite(v)) put("%.1f,%.1f ", x_of(r.step), y_of(v));
        }
        svg += "\"/>\n";
    };
    polyline(false, "#4878d0", 1);
    polyline(true, "#ee854a", 2);
    for (const TrainLogRow& r : rows)
        if (r.val_loss >= 0 && std::isfinite(r.val_loss))
            put("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#ee854a\"/>\n", x_of(r.step), y_of(r.val_loss));
    const double lx = left + plot_w - 130, ly = top + 16;
    put("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#4878d0\"/>\n", lx, ly, lx + 24, ly);
    put("<text x=\"%.1f\" y=\"%.1f\">train loss</text>\n", lx + 30, ly + 4);
    put("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ee854a\" stroke-width=\"2\"/>\n", lx, ly + 18,
        lx + 24, ly + 18);
    put("<text x=\"%.1f\" y=\"%.1f\">validation loss</text>\n", lx + 30, ly + 22);
    svg += "</svg>\n";
    return svg;
}

void write_loss_plot(const std::string& path, const std::vector<TrainLogRow>& rows, const std::string& title) {
    replace_file(path, loss_plot_svg(rows, title), "loss plot");
}

}  // namespace lm
