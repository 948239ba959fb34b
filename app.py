"""MNIST Sketch Lab: draw a digit and see at once what several neural networks think it is.

`python app.py` serves the app on GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio's defaults
otherwise), as a Hugging Face Space does. This file assembles the page from one module per tab
or view (the ui package: ui/draw_tab.py, ui/retrain_tab.py, ...) and sets how the server
queues its work.
"""

from __future__ import annotations

import gradio as gr
import torch

import mnist_core
from mnist_core.workspaces import remove_partial_files
from ui.draw_tab import STATIC, draw_tab, model_choices, reading
from ui.retrain_tab import retrain_tab
from ui.texts import I18N, t
from ui.visitors import goodbye, sign_in_offered, visitor_state, welcome

with gr.Blocks(title="MNIST Sketch Lab") as demo:
    gr.Markdown(t("# MNIST Sketch Lab\nDraw a digit (0–9) and watch the networks guess while you draw."))
    if sign_in_offered():  # a Space with hf_oauth: true; never required
        gr.LoginButton(t("Sign in with Hugging Face to keep your drawings and models"))
    visitor = visitor_state()  # the browser's anonymous id: whose drawings and models (visitors.py)
    page_loaded = demo.load(welcome, visitor, visitor, api_visibility="private")
    demo.unload(goodbye)
    with gr.Tab(t("Draw")):
        draw = draw_tab()
    with gr.Tab(t("Retrain")):
        retrain_tab(draw.model, model_choices, draw.drawing_kept, draw.models_changed, page_loaded)
# Queue limits, chosen with benchmarks/load.py (see the README's "Many users at once"): two calls of
# an event at a time, so that one huge upload does not stall everyone's /predict; at most 64
# waiting, about 2 s of predictions on 2 cores: beyond that "Queue is full" beats a long wait.
# Retraining waits in its own line (mnist_core.retrain), never here.
demo.queue(max_size=64, default_concurrency_limit=2)

remove_partial_files()  # what a server killed in the middle of a save left (never listed, only space)
for model_id in mnist_core.list_models():  # load every network now, so that no drawing waits for one
    reading(torch.zeros(1, 28, 28), model_id, None)

if __name__ == "__main__":
    # The page's fixed text in the browser's language, English or Simplified Chinese (texts.py).
    demo.launch(css_paths=[STATIC / "draw.css"], max_file_size="20mb", i18n=I18N)  # uploads: a photo is a few MB
