"""MNIST Sketch Lab: draw a digit and see at once what several neural networks think it is.

`python app.py` serves the app on GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio's defaults
otherwise), as a Hugging Face Space does. This file assembles the page from one module per tab
(draw_tab.py, retrain_tab.py) and sets how the server queues its work.
"""

from __future__ import annotations

import gradio as gr
import torch

import mnist_core
from draw_tab import STATIC, draw_tab, model_choices, reading
from retrain_tab import retrain_tab

with gr.Blocks(title="MNIST Sketch Lab") as demo:
    gr.Markdown("# MNIST Sketch Lab\nDraw a digit (0–9) and watch the networks guess while you draw.")
    with gr.Tab("Draw"):
        draw = draw_tab()
    with gr.Tab("Retrain"):
        retrain_tab(draw.model, model_choices, draw.drawing_kept, draw.models_changed)
# Queue limits, chosen with benchmarks/load.py (see the README's "Many users at once"): two calls of
# an event at a time, so that one huge upload does not stall everyone's /predict; at most 64
# waiting, about 2 s of predictions on 2 cores: beyond that "Queue is full" beats a long wait.
demo.queue(max_size=64, default_concurrency_limit=2)

for model_id in mnist_core.list_models():  # load every network now, so that no drawing waits for one
    reading(torch.zeros(1, 28, 28), model_id)

if __name__ == "__main__":
    demo.launch(css_paths=[STATIC / "draw.css"], max_file_size="20mb")  # uploads: a photo is a few MB
