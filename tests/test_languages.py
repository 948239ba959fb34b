"""Chinese and English: the page's words follow the browser's language (texts.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

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
        expect(chinese.locator("#card")).to_contain_text("MNIST 测试准确率")
        chinese.locator("#keep-drawing").click()  # no digit chosen: the warning, in Chinese
        expect(chinese.get_by_text("请先选择你写的数字")).to_be_visible()
        chinese.get_by_role("tab", name="重新训练").click()
        expect(chinese.get_by_role("button", name="开始")).to_be_visible()
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
