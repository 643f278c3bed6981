// SPDX-License-Identifier: GPL-3.0-or-later
//
// Ground Truth: a Flamenco 3 custom job type that renders a dataset in chunks of frames.
//
// Install: copy this file into the Manager's `scripts/` folder (next to the flamenco-manager
// executable) and restart the Manager; in Blender, Flamenco's panel then offers
// "Ground Truth Dataset" (press the refresh button next to the job types).
//
// Each render task runs the headless command on one chunk of consecutive frames:
//   {blender} {blenderArgs} FILE.blend --command ground_truth render --output DIR --frames CHUNK ...
// and a last task, which depends on every render task, runs
//   {blender} {blenderArgs} FILE.blend --command ground_truth finalize DIR --frames FRAMES
// to write dataset.json and the COCO file of the whole dataset, and to fail, naming the missing
// frames, when a render task did not finish. Re-queue a failed task and then the finalize task:
// frames already complete are skipped.
//
// The dataset folder must be on storage every Worker can write to, at the same path (use the
// Manager's two-way variables for mixed platforms). The Workers need Blender 4.2 or newer with
// the Ground Truth extension installed and enabled for the user they run as.

const JOB_TYPE = {
    label: "Ground Truth Dataset",
    description: "Render pixel-exact labels (depth, class and instance maps, COCO) with Ground Truth",
    settings: [
        // Settings for artists to determine:
        { key: "frames", type: "string", required: true,
          eval: "f'{C.scene.frame_start}-{C.scene.frame_end}:{C.scene.frame_step}'",
          evalInfo: { showLinkButton: true, description: "Scene frame range" },
          description: "Frames to render: N, A-B or A-B:STEP, comma-separated (e.g. '1-250:2')" },
        { key: "chunk_size", type: "int32", default: 10, propargs: { min: 1, max: 1000 },
          description: "Number of frames one render task renders (Blender starts once per task)" },
        { key: "output_dir", type: "string", subtype: "dir_path", required: true,
          eval: "abspath(C.scene.ground_truth.output_dir)",
          description: "Dataset folder, on storage every Worker can write to" },
        { key: "device", type: "string", default: "SCENE",
          choices: ["SCENE", "CPU", "CUDA", "OPTIX", "HIP", "ONEAPI", "METAL"],
          description: "Cycles device on the Workers; SCENE keeps the file's own setting" },
        { key: "samples", type: "int32", default: 0, propargs: { min: 0 },
          description: "Cycles samples; 0 keeps the scene's" },
        { key: "labels_only", type: "bool", default: false,
          description: "Depth, class and instance maps only, at one sample: many times faster" },
        { key: "extra_args", type: "string", default: "", visible: "submission",
          description: "More arguments for 'ground_truth render', e.g. '--normal --flow'" },

        // Automatically evaluated settings:
        { key: "blendfile", type: "string", required: true, visible: "web",
          description: "Path of the Blend file to render" },
        { key: "scene", type: "string", required: true, eval: "C.scene.name", visible: "web",
          description: "Name of the scene to render" },
    ],
};

function compileJob(job) {
    const settings = job.settings;
    const frames = parseFrames(settings.frames);
    const chunkSize = settings.chunk_size;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
        throw `chunk_size must be a whole number of at least 1, not ${chunkSize}`;
    }
    if (!settings.output_dir) {
        throw "output_dir is empty: set the dataset folder";
    }

    const renderTasks = [];
    for (let start = 0; start < frames.length; start += chunkSize) {
        const chunk = formatFrames(frames.slice(start, start + chunkSize));
        const task = author.Task(`render-${chunk}`, "blender");
        task.addCommand(blenderCommand(settings, ["render", "--output", settings.output_dir,
            "--frames", chunk].concat(sceneArgs(settings), renderOptions(settings))));
        renderTasks.push(task);
        job.addTask(task);
    }

    const finalize = author.Task("finalize", "blender");
    finalize.addCommand(blenderCommand(settings, ["finalize", settings.output_dir,
        "--frames", formatFrames(frames)].concat(sceneArgs(settings))));
    for (const task of renderTasks) {
        finalize.addDependency(task);
    }
    job.addTask(finalize);
}

// A `blender-render` command running `ground_truth ARGS` on the job's blend file.
function blenderCommand(settings, groundTruthArgs) {
    return author.Command("blender-render", {
        exe: "{blender}",
        exeArgs: "{blenderArgs}",
        argsBefore: [],
        blendfile: settings.blendfile,
        args: ["--command", "ground_truth"].concat(groundTruthArgs),
    });
}

function sceneArgs(settings) {
    return settings.scene ? ["--scene", settings.scene] : [];
}

function renderOptions(settings) {
    let args = [];
    if (settings.device && settings.device !== "SCENE") {
        args = args.concat(["--device", settings.device]);
    }
    if (settings.samples) {
        args = args.concat(["--samples", String(settings.samples)]);
    }
    if (settings.labels_only) {
        args.push("--labels-only");
    }
    const extra = (settings.extra_args || "").trim();
    return extra ? args.concat(extra.split(/\s+/)) : args;
}

// The frame syntax of `ground_truth render --frames` (N, A-B, A-B:STEP, comma-separated) as a
// sorted list of distinct frames. Flamenco's own frameChunker() knows no STEP, hence this.
function parseFrames(spec) {
    const text = String(spec || "").trim();
    if (!text) {
        throw "frames is empty: give N, A-B or A-B:STEP, comma-separated";
    }
    const seen = {};
    const frames = [];
    for (const rawPart of text.split(",")) {
        const part = rawPart.trim();
        const match = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
        if (!match) {
            throw `bad frame range '${part}' in '${text}': use N, A-B or A-B:STEP (e.g. 1-100:2)`;
        }
        const first = parseInt(match[1], 10);
        const last = match[2] === undefined ? first : parseInt(match[2], 10);
        const step = match[3] === undefined ? 1 : parseInt(match[3], 10);
        if (last < first || step < 1) {
            throw `bad frame range '${part}' in '${text}': use N, A-B or A-B:STEP (e.g. 1-100:2)`;
        }
        for (let frame = first; frame <= last; frame += step) {
            if (!seen[frame]) {
                seen[frame] = true;
                frames.push(frame);
            }
        }
    }
    return frames.sort((a, b) => a - b);
}

// Sorted frames written back compactly: runs of equal steps become A-B or A-B:STEP.
function formatFrames(frames) {
    const parts = [];
    let i = 0;
    while (i < frames.length) {
        let j = i + 1;
        if (j < frames.length) {
            const step = frames[j] - frames[i];
            while (j + 1 < frames.length && frames[j + 1] - frames[j] === step) {
                j += 1;
            }
            if (j - i >= 2 || step === 1) {
                parts.push(step === 1 ? `${frames[i]}-${frames[j]}`
                    : `${frames[i]}-${frames[j]}:${step}`);
                i = j + 1;
                continue;
            }
        }
        parts.push(String(frames[i]));
        i += 1;
    }
    return parts.join(",");
}
