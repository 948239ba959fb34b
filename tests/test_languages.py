"""Chinese and English: the page's words follow the browser's language (texts.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

import mnist_core
from mnist_core import inside
from mnist_core import retrain as rt
from ui import texts
from conftest import open_page
from test_browser import ONE, answer, draw


def request(accept_language: str) -> SimpleNamespace:
    return SimpleNamespace(headers={"accept-language": accept_language})


@pytest.mark.parametrize(("header", "language"), [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("zh", "zh"), ("zh-Hans", "zh"),
                                                   ("en-US,en;q=0.9", "en"), ("fr-FR", "en"), ("", "en")])
def test_the_language_is_the_browsers_first_choice(header: str, language: str) -> None:
    assert texts.language(request(header)) == language


def test_messages_are_said_in_the_pages_language_with_their_values() -> None:
    template = "✓ Kept as a **{digit}**: {count} drawing(s) kept so far. The next retrain (Retrain tab) learns " \
               "from them; see or delete them there, under *Your drawings*."
    assert texts.say(template, request("zh-CN"), digit=7, count=3).startswith("✓ 已保存为 **7**：目前共保存了 3 张图")
    assert texts.say(template, request("en"), digit=7, count=3).startswith("✓ Kept as a **7**: 3 drawing(s)")
    assert texts.say("a sentence nobody translated", request("zh-CN")) == "a sentence nobody translated"
    with pytest.raises(KeyError, match="no Chinese"):
        texts.t("a label nobody translated")


def test_every_chinese_text_keeps_the_placeholders_of_its_english() -> None:
    for english, chinese in texts.ZH.items():
        assert set(re.findall(r"\{(\w+)", chinese)) <= set(re.findall(r"\{(\w+)", english)) | {"position"}, english


def english_words(text: str, allowed: set[str] = frozenset()) -> set[str]:
    """The words in Latin letters of `text` (HTML tags left out), less those `allowed` (names, "MNIST")."""
    return set(re.findall(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]", re.sub(r"<[^>]*>", "", text))) - set(allowed)


def test_the_retrain_results_are_said_in_chinese() -> None:
    from ui.retrain_tab import ACCURACY_PLOT, LOSS_PLOT, _confusion_columns, _curves, _models_table, _plot_words, \
        _summary, _worse_words

    zh = request("zh-CN")
    per_digit = [rt.DigitChange(digit, 0.99, 0.95 if digit == 7 else 0.99, 0.98, 0.96 if digit == 4 else 0.98)
                 for digit in range(10)]  # 7 worse on MNIST validation, 4 drawn as pen strokes
    run = SimpleNamespace(settings=SimpleNamespace(architecture="lenet5"), cancelled=False, out_of_time=True,
                          fit=SimpleNamespace(epochs=1.5, steps=900, elapsed_s=9.0, val_accuracy=0.99), seconds=12.0,
                          test_accuracy=0.98, per_digit=per_digit, worse_digits=[per_digit[4], per_digit[7]],
                          user=rt.UserScores(weight=4, trained=8, held_out=0, trained_before=0.5, trained_after=0.9))
    summary = _summary(run, zh)
    assert english_words(summary, {"MNIST", "lenet5"}) == set(), summary
    assert "| 之后 |" in summary and "**95.0%**" in summary  # the per-digit table, the worse digit in bold
    assert "| 笔画：之后 |" in summary and "**96.0%**" in summary  # and drawn as pen strokes
    words = _worse_words(run, zh)
    assert english_words(words, {"MNIST", "lenet5"}) == set() and "7: 99.0% → 95.0%" in words and "4: 98.0% → 96.0%" in words
    assert _worse_words(run) == ("it reads 4 and 7 worse than the shipped lenet5 it is compared with (MNIST validation, "
                                 "7: 99.0% → 95.0%; drawn as pen strokes, 4: 98.0% → 96.0%)")
    wrecked = SimpleNamespace(settings=run.settings, worse_digits=per_digit[:9])  # more than a few: counted
    assert _worse_words(wrecked) == ("it reads 9 of the 10 digits worse than the shipped lenet5 it is compared with "
                                     "(each digit in the table below)")
    assert english_words(_worse_words(wrecked, zh), {"lenet5"}) == set() and "9" in _worse_words(wrecked, zh)
    assert _summary(run).startswith("**lenet5** stopped at its time limit after 1.50 epoch(s)")  # English unchanged
    for plot in (LOSS_PLOT, ACCURACY_PLOT):
        words = _plot_words(*plot, zh)
        assert english_words(" ".join([words["title"], words["x_title"], words["y_title"], words["color_title"],
                                       *words["color_map"]]), {"epoch"}) == set(), words
    for curve in _curves([], zh):
        assert english_words(" ".join(curve["series"])) == set()
    headers = _confusion_columns(zh) + list(_models_table(None, zh).columns)  # the confusion matrix's, the models'
    assert english_words(" ".join(headers), {"ID", "UTC", "MNIST"}) == set(), headers


def a_seven() -> Image.Image:
    """As the app's canvas sends a 7 (3:2, 112 px high)."""
    drawing = Image.new("RGB", (168, 112), "white")
    ImageDraw.Draw(drawing).line([(60, 20), (110, 20), (80, 95)], fill="black", width=7, joint="curve")
    return drawing


def test_the_inside_view_is_said_in_chinese() -> None:
    from ui.inside_view import card_markdown, layers_html, why_html

    zh = request("zh-CN")
    model = mnist_core.load_model("convnet-bn")
    x = mnist_core.to_mnist(a_seven())
    torch_names = {"Conv2d", "ReLU", "MaxPool2d", "BatchNorm2d", "Flatten", "Linear", "Normalize"}
    formula = {"softmax", "logits"}  # softmax(logits / T), under the output's bars: a formula, as written in Chinese too
    layers = layers_html(inside.look_inside(model, x), zh, temperature=0.5)
    titles = re.findall(r'<div class="layer-title"><b>(.*?)</b>', layers)
    assert titles[:3] == ["0. 输入", "1. 归一化 · Normalize (x − 0.1307) / 0.3081", "2. 卷积 · Conv2d 1→48, 3×3"]
    assert english_words(layers, torch_names | formula) == set() and "softmax(logits / 0.5)，即网络的校准" in layers
    assert all(english_words(alt) == set() for alt in re.findall(r'alt="([^"]*)"', layers))
    card = card_markdown(model, "convnet-bn", mnist_core.model_info("convnet-bn"), zh)
    table = "\n".join(line for line in card.splitlines() if line.startswith("| "))
    assert english_words(table, torch_names) == set() and "| 全连接 · Linear 384→10 |" in table
    assert "| 输出 · 3 次读取的平均（原样，及旋转 ±12°） |" in table  # the mean of ConvNetBN's readings
    why = why_html(inside.attributions(model, x), x, a_seven(), zh)
    assert why.count("<figure") == 3 and "（回答），叠在你的图上" in why
    assert english_words(why, {"Captum"}) == set()


@pytest.mark.parametrize("model_id", list(mnist_core.SPECS))
def test_every_network_card_is_said_in_chinese_tutorial_fix_and_name_too(model_id: str) -> None:
    """The tutorial fixes come from the networks' docstrings: a docstring changed without its
    translation would show English on a Chinese card."""
    from ui.draw_tab import model_label
    from ui.inside_view import card_markdown

    zh = request("zh-CN")
    model = mnist_core.load_model(model_id)
    fix = inside.tutorial_fix(model)
    assert not fix or texts.say(fix, zh) != fix
    card = card_markdown(model, model_id, mnist_core.model_info(model_id), zh)
    prose = re.sub(r"`[^`]*`", "", "\n".join(line for line in card.splitlines() if not line.startswith("| ")))
    names = {"MNIST", "MLP", "LeNet-5", "CNN", "fc", "ConvNet-BN", "adamw", "adam", "sgd", "one-cycle", "log", "softmax",
             "logit", "logits", "NLL", "ReLU", "MLP3x64", "x8", "x16", "x32"}  # "8x8", "16x16" and "32x32" scans; the networks', optimisers' and functions' own names
    assert english_words(prose, names) == set(), card
    assert "ours" not in model_label(model_id, None, zh) and "tested" not in model_label(model_id, None, zh)


def test_messages_mnist_core_fills_in_are_said_in_chinese() -> None:
    """Errors written without a request (mnist_core has none): found by their template in texts.ZH."""
    zh = request("zh-CN")
    with pytest.raises(mnist_core.InvalidImage) as unreadable:
        mnist_core.to_mnist(b"not an image")
    for message in [str(unreadable.value),
                    "Your training is already running (lenet5, 42% done, about 30 s left). Cancel it first to start "
                    "another.",
                    "Your training is already running (lenet5, 1% done). Cancel it first to start another.",
                    "The server is busy: 3 runs wait for their turn behind the one training. Try again in about 60 s.",
                    "Your collection of drawings is full (500). Delete some in the Retrain tab to add more.",
                    str(pytest.raises(rt.RetrainError, rt.make_settings, "lenet5", epochs=0).value)]:
        names = {"lenet5", "epoch", "PNG", "JPEG", "WebP", "GIF", "BMP"}
        assert english_words(texts.say(message, zh), names) == set(), message
        assert texts.say(message, request("en")) == message


def test_a_chinese_browser_sees_chinese_and_an_english_one_english(browser, app_url: str) -> None:
    chinese = open_page(browser, app_url, locale="zh-CN")
    english = open_page(browser, app_url, locale="en-US")
    try:
        expect(chinese.get_by_role("tab", name="画图")).to_be_visible()
        expect(chinese.get_by_role("tab", name="重新训练")).to_be_visible()
        expect(chinese.get_by_text("比较所有模型")).to_be_visible()
        expect(chinese.locator("#prediction")).to_contain_text("还没有画：写一个数字吧。")
        expect(chinese.locator(".sketch-tools .clear")).to_have_text("清除")
        draw(chinese, ONE)
        expect(answer(chinese)).to_have_text("1")
        expect(chinese.locator("#prediction .detail")).to_have_text(re.compile("^(确定|比较确定|不确定)$"))
        expect(chinese.locator("#compare")).to_contain_text("置信度")
        chinese.get_by_role("button", name=re.compile("^网络内部")).click()  # the view inside the network
        expect(chinese.locator("#why")).to_contain_text("推向 1（回答）")
        expect(chinese.locator("#why figure.on-drawing")).to_contain_text("推向 1（回答），叠在你的图上")
        expect(chinese.locator("#inside section.conv .layer-title").first).to_contain_text("卷积 · Conv2d")
        expect(chinese.locator("#inside section.dense .layer-title").last).to_contain_text("全连接 · Linear")
        expect(chinese.locator("#inside section.output .layer-title")).to_contain_text("输出 · 3 次读取的平均（原样，及旋转 ±12°）")
        expect(chinese.locator("#card")).to_contain_text("MNIST 测试准确率")
        expect(chinese.locator("#card")).to_contain_text("激活 · ReLU")
        chinese.locator("#keep-drawing").click()  # no digit chosen: the warning, in Chinese
        expect(chinese.get_by_text("请先选择你写的数字")).to_be_visible()
        chinese.get_by_role("tab", name="重新训练").click()
        expect(chinese.get_by_role("button", name="开始")).to_be_visible()
        expect(chinese.locator("#loss-plot")).to_contain_text("损失")  # the plots' titles, axes and legends
        expect(chinese.locator("#loss-plot")).to_contain_text("训练损失")
        expect(chinese.locator("#accuracy-plot")).to_contain_text("验证")
        expect(chinese.locator("#accuracy-plot")).not_to_contain_text("validation")
        expect(chinese.get_by_text("真实 ↓ / 回答 →")).to_be_visible()  # the confusion matrix's corner
        expect(chinese.get_by_text("包括你纠正过的图（0）")).to_be_visible()
        chinese.get_by_role("button", name="取消").click()  # nothing to cancel: said in Chinese
        expect(chinese.get_by_text("你没有正在运行的训练。")).to_be_visible()

        expect(english.get_by_role("tab", name="Draw")).to_be_visible()
        expect(english.locator("#prediction")).to_contain_text("Nothing drawn yet: draw a digit.")
        expect(english.locator(".sketch-tools .clear")).to_have_text("Clear")
        draw(english, ONE)
        expect(english.locator("#prediction .detail")).to_have_text(re.compile("^(sure|fairly sure|unsure)$"))
        english.locator("#keep-drawing").click()
        expect(english.get_by_text("First choose the digit you drew")).to_be_visible()
        expect(english.get_by_text("请先选择")).to_have_count(0)
    finally:
        chinese.context.close()
        english.context.close()
