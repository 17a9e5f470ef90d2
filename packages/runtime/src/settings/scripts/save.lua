--[[
  Stores a new version of the worker settings if nobody saved one since the caller read it.

  KEYS[1]  settings key (string: JSON of the current SettingsVersion)
  ARGV[1]  expected current version (0 when none was stored)
  ARGV[2]  settings JSON (already validated by the caller; spliced in as is, never re-encoded by cjson,
           which would turn empty objects into arrays)
  ARGV[3]  updatedAt as a JSON string
  ARGV[4]  updatedBy as JSON (a string or null)
  ARGV[5]  channel to publish the new version number on

  Returns  {1, newVersion, storedJson} when stored, {0, currentVersion} on a conflict.
]]
local current = redis.call('GET', KEYS[1])
local version = 0
if current then
  version = tonumber(cjson.decode(current).version) or 0
end
if version ~= tonumber(ARGV[1]) then
  return {0, version}
end
local stored = '{"version":' .. (version + 1) .. ',"settings":' .. ARGV[2] ..
  ',"updatedAt":' .. ARGV[3] .. ',"updatedBy":' .. ARGV[4] .. '}'
redis.call('SET', KEYS[1], stored)
redis.call('PUBLISH', ARGV[5], tostring(version + 1))
return {1, version + 1, stored}
