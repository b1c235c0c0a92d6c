# The index of pinned components, called with Home Assistant's `callPackage` so that every
# dependency comes from Home Assistant's own Python set. `cargo xtask update-components`
# writes this file; until it has run, the index is empty.
{ callPackage }:
{
}
