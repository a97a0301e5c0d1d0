// What `lm train` leaves beside its output besides the model: a CSV log with one row per
// optimizer step (the validation loss where one was measured) and an SVG plot of the train and
// validation loss curves, drawn here without any plotting library.
#pragma once
#include <string>
#include <vector>

namespace lm {

struct TrainLogRow {
    int step = 0;            // optimizer steps completed
    double loss = 0;         // training loss of this step (mean over its micro-batches)
    double val_loss = -1;    // < 0: not measured at this step
    double lr = 0;           // learning rate the step used
    double tokens_per_second = 0;
    double seconds = 0;      // wall time since the run (or the resumed run) started
};

// The CSV log: `path` is rewritten with the header and, when resuming at `resume_step` > 0,
// the rows of the earlier run up to that step (a run interrupted later left rows the resumed
// run will redo), through a temporary file renamed into place; each add() appends one row and
// flushes it.
class TrainLog {
public:
    TrainLog(const std::string& path, int resume_step);
    void add(const TrainLogRow& row);
    const std::vector<TrainLogRow>& rows() const { return rows_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::vector<TrainLogRow> rows_;
};

// The loss curves as a standalone SVG document: training loss per step (thin line) and the
// validation loss (line with markers), steps on x, loss on y with rounded ticks.
std::string loss_plot_svg(const std::vector<TrainLogRow>& rows, const std::string& title);

// Writes loss_plot_svg to `path` through a temporary file renamed into place.
void write_loss_plot(const std::string& path, const std::vector<TrainLogRow>& rows, const std::string& title);

}  // namespace lm
