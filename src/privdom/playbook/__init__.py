"""Playbooks: the SOP as YAML, validated into `models.Playbook`."""

from privdom.playbook.loader import default_sops_dir, load_playbook
from privdom.playbook.models import Playbook, Rule

__all__ = ["Playbook", "Rule", "default_sops_dir", "load_playbook"]
