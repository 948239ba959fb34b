"""The page: one module per tab or view, assembled by app.py. Everything that is not UI is in
mnist_core, which knows nothing of Gradio.

    draw_tab.py      the Draw tab: our canvas (static/sketchpad.js), answers, comparison, upload
    inside_view.py   the Draw tab's view inside the network (layers, attributions, filters, card)
    retrain_tab.py   the Retrain tab and the /retrain API
    visitors.py      whose drawings and models a page or API client works with (workspaces)
    texts.py         the page's words in English and Simplified Chinese
"""
