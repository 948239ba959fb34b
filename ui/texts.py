"""The words of the page, in English and Simplified Chinese.

Two kinds of text, one table. The page's fixed text (tabs, labels, buttons, headings) is
translated in the browser by Gradio (`gr.I18n`, the language chosen from the browser's):
declare it with `t("English text")`. What Python writes while the page is in use (answers,
messages, counts) is translated here, from the request's Accept-Language: `say("English text
with {n}", request, n=3)`. The key is the English text itself, so English needs no table and a
sentence missing from ZH shows in English rather than as a key; `t()` refuses a text that has
no translation, so nothing fixed is left out by mistake. A message filled in elsewhere (mnist_core's
errors, e.g. "Your collection of drawings is full (500). ...") is found by its template in ZH, and
its values are said too where ZH has them.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from mnist_core.preprocess import MAX_INPUT_PIXELS, TOO_LARGE, UNREADABLE

ZH: dict[str, str] = {
    # The page
    "# MNIST Sketch Lab\nDraw a digit (0–9) and watch the networks guess while you draw.":
        "# MNIST 手写实验室\n写一个数字（0–9），边写边看各个神经网络的判断。",
    "Draw": "画图",
    "Retrain": "重新训练",
    "Sign in with Hugging Face to keep your drawings and models": "用 Hugging Face 登录，保存你的图和模型",
    # The Draw tab
    "…or upload a photo or scan of a handwritten digit": "……或上传手写数字的照片或扫描件",
    "Photo or scan": "照片或扫描件",
    "Network": "网络",
    "Details for the digit": "查看这一位数字",
    "Confidence per digit": "每个数字的置信度",
    "Compare all models": "比较所有模型",
    "Wrong answer? It was a…": "识别错了？其实是……",
    "Keep this drawing to retrain with": "保存这张图，用于重新训练",
    "The number read": "识别出的数字",
    # Inside the network
    "Inside the network: every layer, and why this answer": "网络内部：每一层，以及为什么这样回答",
    "Filters of the convolution": "卷积层的滤波器",
    "Feature map": "特征图",
    # The Retrain tab
    "Train a network again and use it in the Draw tab. The **short retrain** fine-tunes a network's shipped "
    "weights on MNIST (with random distortions) plus your corrected drawings, then checks and tests it: a minute "
    "or so on two cores. The **tutorial recipe** trains it from scratch as its tutorial does. One training runs "
    "at a time on this server: a second one waits for it (at most three wait).":
        "重新训练一个网络，然后在“画图”页使用它。**短训练**在 MNIST（加随机变形）和你纠正过的图上微调"
        "网络自带的权重，然后检查并测试它：在两个 CPU 核上大约一分钟。**教程配方**按教程从头训练。"
        "服务器上一次只运行一个训练，其他的排队等待（最多三个）。",
    "Short retrain: fine-tune the shipped weights, a minute or so": "短训练：微调自带权重，大约一分钟",
    "The tutorial's recipe, from scratch": "教程配方，从头训练",
    "Settings from": "设置来自",
    "its shipped weights": "自带的权重",
    "scratch (random weights)": "从头开始（随机权重）",
    "Start from": "起点",
    "Epochs": "训练轮数（epoch）",
    "Learning rate (peak, with one-cycle)": "学习率（one-cycle 的峰值）",
    "Batch size": "批大小",
    "Optimizer": "优化器",
    "Learning-rate schedule": "学习率策略",
    "one-cycle": "one-cycle",
    "constant": "固定",
    "Augment: random rotation, scale, shear, shift, stroke width": "数据增强：随机旋转、缩放、剪切、平移、笔画粗细",
    "Include your corrected drawings": "包括你纠正过的图",
    "More settings": "更多设置",
    "MNIST training digits per epoch (0: all 55,000)": "每轮使用的 MNIST 训练样本数（0：全部 55,000）",
    "Time limit (seconds): training stops there": "时间上限（秒）：到时停止训练",
    "Random seed": "随机种子",
    "Name (optional)": "名称（可选）",
    "e.g. lenet5 with my sevens": "例如：学了我的 7 的 lenet5",
    "Start": "开始",
    "Cancel": "取消",
    "Choose a network and press **Start**.": "选择一个网络，然后点**开始**。",
    "Keep it as a new model": "保存为新模型",
    "Throw it away": "丢弃",
    "New model (select it in the Draw tab)": "新模型（在“画图”页选择它）",
    "Confusion matrix and the test digits it gets wrong": "混淆矩阵，以及识别错的测试数字",
    "MNIST test: true digit (rows) against the network's answer (columns)": "MNIST 测试集：真实数字（行）与网络的回答（列）",
    "Test digits it gets wrong (true digit → its answer, confidence), most confident first":
        "识别错的测试数字（真实数字 → 它的回答，置信度），最自信的在前",
    "Your drawings": "你的图",
    "Show": "显示",
    "Your drawings as the networks see them (28×28)": "网络看到的你的图（28×28）",
    "Delete the selected drawing": "删除选中的图",
    "Retrained models": "重新训练的模型",
    "Model": "模型",
    "Delete this model": "删除这个模型",
    "Yes, delete it": "是的，删除",
    "No, keep it": "不，保留",
    "_Your drawings and retrained models are yours: nobody else sees, uses or deletes them. This browser keeps "
    "them for you (up to {models} models, {drawings} drawings, {megabytes} MB); where the server runs out of "
    "room, the anonymous work unused the longest is removed first. Signed in with Hugging Face (where "
    "offered), they stay with your account._":
        "_你的图和重新训练的模型只属于你：别人看不到、用不了，也删不掉。这个浏览器为你保存它们（最多 {models} 个模型、"
        "{drawings} 张图、{megabytes} MB）；服务器空间不足时，最久没用的匿名内容会先被删除。用 Hugging Face "
        "登录后（如果提供），它们会保存在你的账号里。_",
    "Nothing drawn": "没有画",
    # Inside the network
    "Draw a digit: every layer of the network appears here.": "写一个数字：网络的每一层都会显示在这里。",
    " (the first {shown} of {count})": "（共 {count} 个中的前 {shown} 个）",
    "{count} parameters": "{count} 个参数",
    "Why this answer (Integrated Gradients, Captum): red ink pushed towards the digit, blue away from it":
        "为什么这样回答（积分梯度，Captum）：红色的笔迹把判断推向这个数字，蓝色的推离它",
    "towards <b>{digit}</b> (the answer)": "推向 <b>{digit}</b>（回答）",
    "towards <b>{digit}</b> (the runner-up)": "推向 <b>{digit}</b>（第二名）",
    "{name}, {count} parameters, from {source}.": "{name}，{count} 个参数，来自 {source}。",
    "{name}, {count} parameters.": "{name}，{count} 个参数。",
    "MNIST test accuracy: **{accuracy}**.": "MNIST 测试准确率：**{accuracy}**。",
    "On handwriting that is not MNIST's (`benchmarks/real_style.py`): {sets}.":
        "在 MNIST 之外的手写数字上（`benchmarks/real_style.py`）：{sets}。",
    "Not measured on handwriting that is not MNIST's: `benchmarks/real_style.py` measures the shipped networks.":
        "没有在 MNIST 之外的手写数字上测量：`benchmarks/real_style.py` 只测量自带的网络。",
    "Recipe: {optimizer} {lr}, batch {batch}, {epochs} epochs, {schedule} schedule{augmented}.":
        "训练配方：{optimizer} {lr}，批大小 {batch}，{epochs} 轮，{schedule} 学习率策略{augmented}。",
    ", augmented": "，使用数据增强",
    ", label smoothing {amount}": "，标签平滑 {amount}",
    ", + {count} digits in the styles MNIST lacks": "，另加 {count} 个 MNIST 缺少的书写风格的数字",
    "Fixed from the tutorial: {fix}": "相对教程修正的错误：{fix}",
    "Click a feature map to see its filter": "点击一张特征图，查看它的滤波器",
    "the confidences: softmax(logits / {t}), the network's calibration": "置信度：softmax(logits / {t})，即网络的校准",
    # The tutorial fixes, as the networks' docstrings say them (mnist_core.inside.tutorial_fix)
    "the tutorial ends in log_softmax and trains with NLL; we return logits and train with cross-entropy, which "
    "is the same loss computed in one stable step.":
        "教程以 log_softmax 结尾并用 NLL 训练；我们输出 logits 并用交叉熵训练：同一个损失，一步算出，数值更稳定。",
    "the tutorial's first listing flattens the input image instead of the pooled feature maps before the first "
    "fully connected layer.": "教程的第一段代码在第一个全连接层之前展平的是输入图像，而不是池化后的特征图。",
    "the tutorial applies ReLU to the output logits, which clips every negative logit to zero and slows learning; "
    "the last layer here is linear.": "教程对输出的 logits 也用了 ReLU，把每个负的 logit 截成零，学得更慢；这里最后一层是线性的。",
    "the tutorial ends in log_softmax; we return logits (see MLP3x64).": "教程以 log_softmax 结尾；我们输出 logits（见 MLP3x64）。",
    # Networks' names and their state in the selector
    "ConvNet-BN (ours)": "ConvNet-BN（本项目的）",
    "not tested": "未测试",
    "tutorial {number}": "教程 {number}",
    "MNIST Sketch Lab": "MNIST 手写实验室",
    "onecycle": "one-cycle",
    ", ": "；",
    "pen digits, canvas": "笔写数字，画布",
    "pen digits, bold tight crop": "笔写数字，粗笔紧裁",
    "handwriting fonts (25 fonts)": "手写字体（25 种）",
    "scanned forms, 8x8": "扫描表格，8x8",
    "scanned forms, 32x32": "扫描表格，32x32",
    "scanned digits, 16x16": "扫描数字，16x16",
    "| # | layer | output | parameters |": "| # | 层 | 输出 | 参数 |",
    "feature map {map}'s filter: {inputs} input channel(s) of {size} weights (white: the largest)":
        "特征图 {map} 的滤波器：{inputs} 个输入通道，每个 {size} 个权重（白色：最大）",
    "towards <b>{digit}</b> (the answer), over your drawing": "推向 <b>{digit}</b>（回答），叠在你的图上",
    "towards {digit}": "推向 {digit}",
    "{count} feature maps": "{count} 个特征图",
    "{count} values": "{count} 个值",
    "filter weights": "滤波器权重",
    # What each kind of layer is (inside_view.KINDS)
    "input": "输入",
    "convolution": "卷积",
    "normalisation": "归一化",
    "activation": "激活",
    "pooling": "池化",
    "flattening": "展平",
    "fully connected": "全连接",
    "output": "输出",
    "layer": "层",
    "Output": "输出",
    "mean of 3 readings (as drawn, turned ±12°)": "3 次读取的平均（原样，及旋转 ±12°）",
    # The Retrain tab, while it is used
    "Starting…": "开始……",
    "Starting: loading MNIST and your drawings…": "开始：正在加载 MNIST 和你的图……",
    "Starting: loading MNIST…": "开始：正在加载 MNIST……",
    "finishing": "即将结束",
    ", and {count} more wait before yours": "，你前面还有 {count} 个在等",
    "**Waiting for its turn.** Another training is running ({running}){more}; one runs at a time on this "
    "server. Yours starts when it ends; **Cancel** takes it off the queue.":
        "**排队中。** 另一个训练正在运行（{running}）{more}；服务器上一次只运行一个训练。"
        "它结束后就轮到你；点**取消**可以退出排队。",
    "**Stopping** at step {step} of {steps}; then you can keep what it learnt or throw it away…":
        "**正在停止**，在第 {step} 步（共 {steps} 步）；然后你可以保存目前学到的或丢弃它……",
    "Training {network}: it starts at {accuracy} validation accuracy…": "正在训练 {network}：起始验证准确率 {accuracy}……",
    "Training {network}: step {step} of {steps}; validating it on the 5,000 held-out digits…":
        "正在训练 {network}：第 {step} 步，共 {steps} 步；正在用 5,000 个留出的数字验证……",
    "Trained: now checking it against the shipped network and testing it on the 10,000 MNIST test digits…":
        "训练完成：正在与自带网络逐个数字比较，并用 10,000 个 MNIST 测试数字测试……",
    "Training {network}: step {step} of {steps}, loss {loss}.": "正在训练 {network}：第 {step} 步，共 {steps} 步，损失 {loss}。",
    "Training {network}: step {step} of {steps} ({share}), epoch {epoch} of {epochs}, loss {loss}, about {left} s "
    "left.": "正在训练 {network}：第 {step} 步，共 {steps} 步（{share}），第 {epoch} 轮，共 {epochs} 轮，"
             "损失 {loss}，大约还剩 {left} 秒。",
    "Cancelled after {steps} step(s). Keep what it learnt (it is checked against the shipped network and tested "
    "on the MNIST test digits first, a minute or two), or throw it away?":
        "已在第 {steps} 步后取消。保存目前学到的（保存前先与自带网络逐个数字比较，并在 MNIST 测试集上测试，"
        "需要一两分钟），还是丢弃？",
    "**Careful**: {worse}. MNIST test accuracy **{accuracy}**. Keep it anyway, or throw it away?":
        "**注意**：{worse}。MNIST 测试准确率 **{accuracy}**。仍然保存，还是丢弃？",
    "Done: MNIST test accuracy **{accuracy}**. Saved as **{model}**, now in the Draw tab's list of networks.":
        "完成：MNIST 测试准确率 **{accuracy}**。已保存为 **{model}**，现在可以在“画图”页的网络列表中选择。",
    "**Stopping** after the current step; then you can keep what was trained so far or throw it away.":
        "**正在停止**，完成当前这一步后停止；然后你可以保存目前训练的结果或丢弃它。",
    "Cancelled: taken off the queue, it will not start.": "已取消：已退出排队，不会开始。",
    "You have no training running.": "你没有正在运行的训练。",
    "There is nothing to keep: train a network first.": "没有可保存的：请先训练一个网络。",
    "Kept as **{model}** (MNIST test accuracy **{accuracy}**), now in the Draw tab's list of networks.":
        "已保存为 **{model}**（MNIST 测试准确率 **{accuracy}**），现在可以在“画图”页的网络列表中选择。",
    "Thrown away: nothing was saved.": "已丢弃：什么都没有保存。",
    "– (tested if kept)": "–（保存时测试）",
    "– (checked if kept)": "–（保存时检查）",
    "Checked: now testing it on the 10,000 MNIST test digits…": "检查完成：正在用 10,000 个 MNIST 测试数字测试……",
    "Checking it against the shipped {network}, then testing it on the 10,000 MNIST test digits…":
        "正在与自带的 {network} 逐个数字比较，然后用 10,000 个 MNIST 测试数字测试……",
    "Choose the model to delete first.": "请先选择要删除的模型。",
    "Delete **{model}** for good?": "永久删除 **{model}**？",
    "Deleted {model}.": "已删除 {model}。",
    "Select a drawing first (click it in the gallery), then delete it.": "请先选择一张图（在图库中点击它），再删除。",
    "Training failed": "训练失败",
    "Training failed, nothing was saved: {error}": "训练失败，什么都没有保存：{error}",
    # The Retrain tab's results
    "Loss": "损失",
    "Accuracy": "准确率",
    "cross-entropy": "交叉熵",
    "accuracy": "准确率",
    "epoch": "轮次（epoch）",
    "series": "曲线",
    "training loss": "训练损失",
    "training (augmented batches)": "训练（数据增强后的批次）",
    "validation": "验证",
    "cancelled": "已取消",
    "stopped at its time limit": "到达时间上限，已停止",
    "finished": "已完成",
    "**{network}** {how} after {epochs} epoch(s), {steps} steps, in {seconds} s (training {training} s).":
        "**{network}** {how}：训练了 {epochs} 轮、{steps} 步，共用时 {seconds} 秒（其中训练 {training} 秒）。",
    "| | accuracy |": "| | 准确率 |",
    "| MNIST validation (5,000 training-set digits held out) | {accuracy} |":
        "| MNIST 验证集（从训练集留出的 5,000 个数字） | {accuracy} |",
    "| MNIST test (10,000 digits, never trained on) | **{accuracy}** |":
        "| MNIST 测试集（10,000 个数字，从未用于训练） | **{accuracy}** |",
    "the shipped {network}": "自带的 {network}",
    "| your {count} held-out drawings (never trained on) | **{after}** ({before}: {then}) |":
        "| 你留出的 {count} 张图（从未用于训练） | **{after}**（{before}：{then}） |",
    "| your {count} drawings it trained on (each counted {weight}× an epoch: optimistic) | "
    "{after} ({before}: {then}) |":
        "| 它训练过的你的 {count} 张图（每轮各计 {weight} 次：偏乐观） | {after}（{before}：{then}） |",
    "_With {count} drawings or more, one in five is held out to measure the network on drawings it never saw._":
        "_有 {count} 张或更多图时，每五张留出一张，用来在网络没见过的图上测量它。_",
    "Each digit on MNIST validation, the shipped {network} → this network (**bold**: more than {worse} worse):":
        "MNIST 验证集上每个数字的准确率，自带的 {network} → 这个网络（**粗体**：下降超过 {worse}）：",
    "digit": "数字",
    "before": "之前",
    "after": "之后",
    " and ": "、",
    "Each digit, the shipped {network} → this network (**bold**: more than {worse} worse), on MNIST validation and "
    "on the same digits drawn as pen strokes:":
        "每个数字的准确率，自带的 {network} → 这个网络（**粗体**：下降超过 {worse}），在 MNIST 验证集上，"
        "以及把同样的数字用笔画重画之后：",
    "drawn, before": "笔画：之前",
    "drawn, after": "笔画：之后",
    "it reads {digits} worse than the shipped {network} it is compared with ({changes})":
        "它识别 {digits} 比作为对照的自带 {network} 差（{changes}）",
    "it reads {count} of the 10 digits worse than the shipped {network} it is compared with (each digit in the table "
    "below)": "它识别 10 个数字中的 {count} 个比作为对照的自带 {network} 差（每个数字见下表）",
    "MNIST validation, {changes}": "MNIST 验证集，{changes}",
    "drawn as pen strokes, {changes}": "用笔画重画，{changes}",
    "true ↓ / answer →": "真实 ↓ / 回答 →",
    "id": "ID",
    "name": "名称",
    "MNIST test": "MNIST 测试",
    "started from": "起点",
    "epochs": "轮数",
    "your drawings": "你的图",
    "saved (UTC)": "保存时间（UTC）",
    "unreadable file": "无法读取的文件",
    "shipped": "自带权重",
    "scratch": "从头开始",
    "{trained} (+{held_out} held out)": "{trained}（另留出 {held_out}）",
    "Yours (at most {models})": "你的模型（最多 {models} 个）",
    "all": "全部",
    "{total} drawing(s) kept (at most {most}); showing {shown}{which}, newest first. They come from the Draw tab: "
    "when a network is wrong, say which digit you drew. Select one to delete it.":
        "已保存 {total} 张图（最多 {most} 张）；显示 {shown} 张{which}，最新的在前。它们来自“画图”页：网络认错时，"
        "说明你写的是几。选中一张可以删除它。",
    " of the {count} labelled {digit}": "（共 {count} 张标为 {digit}）",
    "Selected: drawing {number} of the gallery, a {digit}.": "已选中：图库中的第 {number} 张图，一个 {digit}。",
    "Selected: drawing {number} of the gallery.": "已选中：图库中的第 {number} 张图。",
    # Messages mnist_core fills in (found by their template, see say)
    "{network}, starting": "{network}，正在开始",
    "{network}, {share} done, about {left} s left": "{network}，已完成 {share}，大约还剩 {left} 秒",
    "{network}, {share} done": "{network}，已完成 {share}",
    "Your training is already running ({running}). Cancel it first to start another.":
        "你的训练已在运行（{running}）。请先取消它，再开始新的训练。",
    "Your training is already waiting for its turn. Cancel it first to start another.":
        "你的训练已在排队。请先取消它，再开始新的训练。",
    "The server is busy: {count} runs wait for their turn{behind}. Try again in about {seconds} s.":
        "服务器很忙：有 {count} 个训练在排队{behind}。请大约 {seconds} 秒后再试。",
    " behind the one training": "，排在正在运行的训练之后",
    "You already have {count} retrained models, the most you can keep. Delete one in the Retrain tab first.":
        "你已经有 {count} 个重新训练的模型，这是能保存的上限。请先在“重新训练”页删除一个。",
    "Your collection of drawings is full ({count}). Delete some in the Retrain tab to add more.":
        "你保存的图已满（{count} 张）。请在“重新训练”页删除一些，再添加新的。",
    "Your workspace is full ({megabytes} MB of models and drawings). Delete some models or drawings in the Retrain "
    "tab first.": "你的空间已满（模型和图共 {megabytes} MB）。请先在“重新训练”页删除一些模型或图。",
    "This server has no room left for new models or drawings right now. Try again later.":
        "服务器现在没有空间保存新的模型或图。请稍后再试。",
    "No drawing with id {id}: it was already deleted.": "没有编号为 {id} 的图：它已经被删除了。",
    "{what} must be a whole number from {low} to {high}, not {value}.": "{what}必须是 {low} 到 {high} 之间的整数，而不是 {value}。",
    "{what} must be a number above {low} and at most {high}, not {value}.":
        "{what}必须大于 {low} 且不超过 {high}，而不是 {value}。",
    "{what} must be one of {choices}, not {value}.": "{what}必须是 {choices} 之一，而不是 {value}。",
    "The learning rate": "学习率",
    "The batch size": "批大小",
    "The optimizer": "优化器",
    "The schedule": "学习率策略",
    "The number of training digits": "训练数字的数量",
    "The time limit (seconds)": "时间上限（秒）",
    "The seed": "随机种子",
    UNREADABLE: "这个文件不是我们能读取的图像。请使用 PNG、JPEG、WebP、GIF 或 BMP 图像。",
    TOO_LARGE: f"图像太大（最多 {MAX_INPUT_PIXELS // 1_000_000} 百万像素）。",
    "The drawing could not be read. Please clear the canvas and draw again.": "无法读取这张图。请清除画布，重新写。",
    # What Python writes while the page is in use
    "Nothing drawn yet: draw a digit.": "还没有画：写一个数字吧。",
    "No digit found in the photo.": "照片里没有找到数字。",
    "in your photo": "在你的照片里",
    "sure": "确定",
    "fairly sure": "比较确定",
    "unsure": "不确定",
    "Not a digit": "不是数字",
    "closest digit: {digit}": "最接近的数字：{digit}",
    "looks like a letter or symbol": "像是字母或符号",
    "looks like a scribble": "像是乱涂",
    "several separate marks": "几个分开的笔画",
    "{count} digits; the least sure is the {ordinal} ({label}, {certainty})":
        "{count} 位数字；最不确定的是第 {position} 位（{label}，{certainty}）",
    "What the network sees (28×28)": "网络看到的图像（28×28）",
    "The 28×28 image the network sees appears here.": "网络看到的 28×28 图像显示在这里。",
    "Draw a digit to see every network's answer.": "写一个数字，看看每个网络的回答。",
    "| Network | Answer | Confidence |": "| 网络 | 回答 | 置信度 |",
    "| Network | Number | Least confidence |": "| 网络 | 数字 | 最低置信度 |",
    "First choose the digit you drew (one of 0–9 above), then keep it.":
        "请先选择你写的数字（上面的 0–9 之一），再保存。",
    "Nothing is drawn: draw a digit first, then say which digit it is.": "还没有画：先写一个数字，再说明它是几。",
    "✓ Kept as a **{digit}**: {count} drawing(s) kept so far. The next retrain (Retrain tab) learns from them; "
    "see or delete them there, under *Your drawings*.":
        "✓ 已保存为 **{digit}**：目前共保存了 {count} 张图。下一次重新训练（“重新训练”页）会学习它们；"
        "可以在那里的“你的图”中查看或删除。",
    "Include your corrected drawings ({count})": "包括你纠正过的图（{count}）",
    "The network {model!r} is no longer on this server (it was deleted). Reading with {fallback} instead.":
        "网络 {model!r} 已不在服务器上（已被删除）。改用 {fallback} 识别。",
}


def t(text: str, **values: Any) -> I18nData:
    """Fixed text of the page, translated in the browser; `values` fill in its {placeholders} once,
    when the page is declared. Raises KeyError for a text with no translation."""
    if text not in ZH:
        raise KeyError(f"no Chinese for {text!r}: add it to texts.ZH")
    if not values:
        return I18N(text)
    key = text.format(**values)
    ZH.setdefault(key, ZH[text].format(**values))
    EN.setdefault(key, key)
    return I18N(key)


def language(request: Any) -> str:
    """"zh" for a browser that prefers Chinese (Accept-Language zh, zh-CN, zh-Hans...), else "en"."""
    headers = getattr(request, "headers", None) or {}
    accepted = headers.get("accept-language", "") if hasattr(headers, "get") else ""
    first = accepted.split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def say(text: str, request: Any = None, **values: Any) -> str:
    """`text` in the request's language, with `values` filled in. A text with no translation of its
    own may be a template of ZH's filled in elsewhere: then it is said from that template."""
    if language(request) != "zh":
        return text.format(**values) if values else text
    if text not in ZH:
        return _filled_in(text)
    return ZH[text].format(**values) if values else ZH[text]


def _filled_in(text: str) -> str:
    """A text that ZH has as a template filled in (e.g. mnist_core's "Your collection of drawings is
    full (500). ..."), in Chinese, its values too where ZH has them; else the text itself."""
    for pattern, template in _templates():
        found = pattern.fullmatch(text)
        if found:
            return ZH[template].format(**{name: ZH.get(value) or _filled_in(value)
                                          for name, value in found.groupdict().items()})
    return text


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """A pattern for each text of ZH with placeholders and some words, each {name} (once) matching
    any value; not for those whose Chinese needs more (e.g. a {position}) or formats one ({model!r})."""
    templates = []
    for text, chinese in ZH.items():
        names = re.findall(r"\{(\w+)\}", text)
        plain = not re.search(r"\{(?!\w+\})", text + chinese)  # no {name!r}, no {name:.1%}
        if (names and len(set(names)) == len(names) and plain and re.sub(r"\{\w+\}", "", text).strip()
                and set(re.findall(r"\{(\w+)", chinese)) <= set(names)):
            pattern = "".join(f"(?P<{part[1:-1]}>.*?)" if re.fullmatch(r"\{\w+\}", part) else re.escape(part)
                              for part in re.split(r"(\{\w+\})", text))
            templates.append((re.compile(pattern, re.DOTALL), text))
    return templates


EN = {text: text for text in ZH}
I18N = gr.I18n(en=EN, **{"zh-CN": ZH, "zh": ZH})
