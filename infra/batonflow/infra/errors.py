"""Errors of template reading and provisioning::

InfraError
├── TemplateError          the template is missing, malformed or uses something we cannot emulate
│   └── UnresolvableError  an intrinsic function refers to something that does not exist (yet)
└── ProvisionError         the endpoint refused to create a resource
"""

from __future__ import annotations


class InfraError(Exception):
    """Root of every error raised by :mod:`batonflow.infra`."""


class TemplateError(InfraError):
    """The template cannot be read or uses a feature the local stack does not support."""


class UnresolvableError(TemplateError):
    """An intrinsic function refers to a parameter, condition or resource that is not known."""


class ProvisionError(InfraError):
    """Creating a resource failed at the endpoint."""
