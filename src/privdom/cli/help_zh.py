"""The Chinese of the command line's help: commands by name, options and arguments by their flag
(or by `COMMAND --flag` where one command gives a flag another meaning).

`--lang zh|en|both` (env PRIVDOM_LANG) picks the language; a text with no Chinese here prints in
English, so a new option is never left without help.
"""

from __future__ import annotations

from typing import Any

from privdom.labels import Lang, pick

APP = "privdom：用会员和订单导出表规划私域运营（社群、私聊、朋友圈）。"

COMMANDS = {
    "init": "创建工作区：privdom.db（SQLite，WAL）和带默认剧本的 sops/。",
    "demo": "把自带的示例品牌（茶语 TeaTalk）导入新工作区，并打印它的早间计划。",
    "import": "把导出文件（会员/订单/群/群成员/活跃）导入工作区，一个文件一个事务。",
    "sop": "检查和阅读剧本（sops/*.yaml）。",
    "validate": "全面检查（结构、条件、模板、引用）；有问题则列出全部并以 1 退出。",
    "list": "按阶段列出规则，每条附触发条件和受众说明。",
    "show": "合并后的剧本，所有默认值都已填好，即计划器看到的样子。",
    "calendar": "即将到来的营销节点：春节…中秋（农历）、618、双11、会员日。",
    "members": "每个会员一行：全部指标、等级、生命周期、RFM 分数和分类。",
    "member": "单个会员的档案和原因：等级门槛、生命周期条件、RFM 与均值对比、接下来的任务。",
    "tiers": "各等级的会员数和消费额，以及 80/20 线；--what-if 试算其他门槛。",
    "segments": "各生命周期阶段或 RFM 分类的会员数和消费额，以及 80/20 线。",
    "plan": "当天的任务：发什么、发到哪、几点发、私聊谁、为什么。",
    "tasks": "某天已保存的任务及其状态。",
    "done": "把已保存的任务标为完成（或跳过）。ID 可以是任务 ID、合并行 ID 或至少 6 位的唯一前缀。",
    "schedule": "未来几天的每条群发（日常节奏、会员日、营销节点），可导出日历。",
    "report": "漏斗、等级、生命周期及 30 天流转、社群健康度、负责人工作量。",
    "review": "复盘：每条规则的下发、完成、跳过；完成任务之后的下单，对比留出、跳过或延后的任务。",
    "simulate": "团队能否承担这份剧本？在工作区副本上重放每个早上，不写入工作区。",
    "diff": "剧本改动对计划的影响：规则、按规则/负责人/阶段的任务数、触达、延后。",
}

OPTIONS = {
    "--db": "工作区数据库 [默认：./privdom.db]。",
    "--sops": "剧本文件夹 [默认：./sops]。",
    "--lang": "标签和帮助的语言：zh、en 或 both [默认：both，环境变量 PRIVDOM_LANG]。",
    "--version": "打印版本号并退出。",
    "--date": "以此日期为准，YYYY-MM-DD [默认：剧本时区的今天]。",
    "--from": "第一天，YYYY-MM-DD [默认：今天]。",
    "--to": "最后一天，YYYY-MM-DD。",
    # A flag whose meaning differs in one command: "COMMAND --flag".
    "review --from": "期间的第一天，YYYY-MM-DD。",
    "simulate --from": "期间的第一天，YYYY-MM-DD。",
    "--days": "天数。",
    "--format": "输出格式。",
    "--show-pii": "显示完整手机号（默认打码）。",
    "--owner": "只看此负责人（添加人/导购）。",
    "--stage": "只看此阶段：引流 pull_in、留存 retention 或 转化 conversion。",
    "--action": "只看此动作，如 私聊 private_message。",
    "--save": "保存任务（频次上限、补发和 done 都基于已保存的任务）。",
    "--full": "完整显示每条消息（默认过长的消息以 … 截断）。",
    "--status": "只看待办、已完成或已跳过的任务。",
    "--skip": "标为跳过而不是完成。",
    "--note": "随任务保存的备注。",
    "--tier": "只看此等级（ID、中文名或英文名）。",
    "--segment": "只看此生命周期阶段（ID、中文名或英文名）。",
    "--rfm-class": "只看此 RFM 分类，如 重要价值 important_value。",
    "--tag": "只看带此标签的会员。",
    "--limit": "最多 N 个会员，按消费额从高到低 [表格：50]。",
    "--what-if": "试算另一个门槛，如 silver=2500（可重复）。",
    "--model": "生命周期阶段或 RFM 分类。",
    "--group": "只看此群（group_id）。",
    "--type": "只看福利群、服务群或兴趣群。",
    "--content-type": "只看此内容类型的群发，如 产品营销 product。",
    "--html": "另写一个自包含的 HTML 报告文件（可离线打开）。",
    "--encoding": "auto（先 BOM，再 UTF-8，再 GB18030）或编码名称。",
    "--map": "源列=字段，可重复。",
    "--source": "已知的导出格式。",
    "--sheet": "XLSX 工作表 [默认：第一个]。",
    "--dry-run": "只报告，不写入。",
    "--rejects": "把被拒绝的记录写入此 CSV。",
    "--force": "覆盖已存在的文件。",
    "--dir": "在此文件夹建立并保留工作区 [默认：临时文件夹]。",
    "KIND": "members 会员 | orders 订单 | groups 群 | group-members 群成员 | activity 活跃",
    "FILE": "CSV/TSV/XLSX 导出文件。",
    "ID...": "来自 `privdom plan` 或 `privdom tasks` 的 ID。",
    "ID": "会员 ID，须完全一致（前导零也算）。",
}


def translate(command: Any, lang: Lang, *, root: bool = False) -> None:
    """Set the help of a click command and of its parameters in `lang` (English kept as the source)."""
    english = command.__dict__.setdefault("_help_en", command.help)
    zh = APP if root else COMMANDS.get(command.name or "")
    command.help = _pick(zh, english, lang)
    command.short_help = None
    for param in command.params:
        if not hasattr(param, "help"):
            continue
        source = param.__dict__.setdefault("_help_en", param.help)
        key = (param.opts[0] if param.param_type_name == "option" else param.metavar) or param.name
        param.help = _pick(OPTIONS.get(f"{command.name} {key}", OPTIONS.get(key)), source, lang)


def _pick(zh: str | None, en: str | None, lang: Lang) -> str | None:
    if not zh or not en:
        return en
    return pick(zh, en, lang) if lang != "both" else f"{en}\n\n{zh}" if "\n" in en else f"{en} {zh}"
