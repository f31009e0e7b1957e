"""Playbooks: the SOP as YAML, validated into `models.Playbook`."""

from privdom.playbook.loader import check_playbook, default_sops_dir, load_playbook, validate_playbook
from privdom.playbook.models import Playbook, Rule
from privdom.playbook.yamlfile import Issue as ValidationIssue

__all__ = [
    "Playbook",
    "Rule",
    "ValidationIssue",
    "check_playbook",
    "default_sops_dir",
    "load_playbook",
    "validate_playbook",
]
