"""The directory of support offers as an aggregate: which providers and offers were in force when.

Like the agreement: each load of the directory file that changes anything records one event
per added, changed or removed provider and offer and a closing `DirectoryRevised`; a load of
identical terms records nothing. The *revision* counts the loads that changed something (1 on
the first).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from contracts.messages import CommandContext
from contracts.offers import DirectoryTerms, Provider, SupportOffer
from domain import ids


class Directory(Aggregate):
    """A versioned directory of providers and their support offers."""

    @staticmethod
    def create_id(directory_key: str) -> Any:
        return ids.directory_id(directory_key)

    @event("Compiled")
    def __init__(self, directory_key: str, title: str, ctx: CommandContext) -> None:
        self.directory_key = directory_key
        self.title = title
        self.digest = ""
        self.providers: dict[str, Provider] = {}
        self.offers: dict[str, SupportOffer] = {}
        self.revision = 0

    # --- commands -------------------------------------------------------------------------

    def revise(self, terms: DirectoryTerms, ctx: CommandContext) -> list[str]:
        """Bring the record in line with `terms`; return what changed (empty: nothing)."""
        if terms.digest() == self.digest:
            return []
        changes: list[str] = []
        for provider in terms.providers:
            known = self.providers.get(provider.id)
            if known is None:
                self._provider_added(provider=provider, ctx=ctx)
                changes.append(f"provider added: {provider.id}")
            elif known != provider:
                self._provider_changed(provider=provider, ctx=ctx)
                changes.append(f"provider changed: {provider.id}")
        for offer in terms.offers:
            known_offer = self.offers.get(offer.id)
            if known_offer is None:
                self._offer_added(offer=offer, ctx=ctx)
                changes.append(f"offer added: {offer.id}")
            elif known_offer != offer:
                self._offer_changed(offer=offer, ctx=ctx)
                changes.append(f"offer changed: {offer.id}")
        kept_offers = {offer.id for offer in terms.offers}
        for offer_id in [oid for oid in self.offers if oid not in kept_offers]:
            self._offer_withdrawn(offer_id=offer_id, ctx=ctx)
            changes.append(f"offer withdrawn: {offer_id}")
        kept_providers = {provider.id for provider in terms.providers}
        for provider_id in [pid for pid in self.providers if pid not in kept_providers]:
            self._provider_removed(provider_id=provider_id, ctx=ctx)
            changes.append(f"provider removed: {provider_id}")
        self._revised(title=terms.title, digest=terms.digest(), ctx=ctx)
        changes.append(f"revised: {len(self.offers)} offers of {len(self.providers)} providers")
        return changes

    # --- queries --------------------------------------------------------------------------

    @property
    def terms(self) -> DirectoryTerms:
        """The directory as recorded, as the file's model (validated again)."""
        return DirectoryTerms(
            directory_id=self.directory_key,
            title=self.title,
            providers=list(self.providers.values()),
            offers=list(self.offers.values()),
        )

    # --- events ---------------------------------------------------------------------------

    @event("ProviderAdded")
    def _provider_added(self, provider: Provider, ctx: CommandContext) -> None:
        self.providers[provider.id] = provider

    @event("ProviderChanged")
    def _provider_changed(self, provider: Provider, ctx: CommandContext) -> None:
        self.providers[provider.id] = provider

    @event("ProviderRemoved")
    def _provider_removed(self, provider_id: str, ctx: CommandContext) -> None:
        del self.providers[provider_id]

    @event("OfferAdded")
    def _offer_added(self, offer: SupportOffer, ctx: CommandContext) -> None:
        self.offers[offer.id] = offer

    @event("OfferChanged")
    def _offer_changed(self, offer: SupportOffer, ctx: CommandContext) -> None:
        self.offers[offer.id] = offer

    @event("OfferWithdrawn")
    def _offer_withdrawn(self, offer_id: str, ctx: CommandContext) -> None:
        del self.offers[offer_id]

    @event("DirectoryRevised")
    def _revised(self, title: str, digest: str, ctx: CommandContext) -> None:
        self.title = title
        self.digest = digest
        self.revision += 1
