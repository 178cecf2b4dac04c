"""Regions, member jurisdictions, staff users, sessions and API keys.

Public API: ``service`` (writes: create_region, add_jurisdiction, create_user, authenticate,
create_api_key, revoke_api_key, ...), ``queries`` (reads, each taking the acting principal),
``schemas`` (pydantic models of the JSON API).

A region is one shared-services partnership; each jurisdiction (state, county, city, school or
special district, federal agency) belongs to exactly one region and may have a parent. Staff
users and API keys carry one role; jurisdictional roles are tied to one jurisdiction, which a
check constraint enforces.
"""
