-- doc/codex.txt is valid vimdoc: :helptags accepts it (no duplicate tags) and
-- :help finds the tags users need.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('vimdoc', function()
  -- Work on a copy: helptags writes doc/tags, which must not land in the repo.
  local rtp = vim.fn.tempname() .. '-rtp'
  vim.fn.mkdir(rtp .. '/doc', 'p')
  vim.fn.writefile(vim.fn.readfile(H.repo .. '/editors/nvim/doc/codex.txt', 'b'), rtp .. '/doc/codex.txt', 'b')
  vim.v.errmsg = ''
  vim.cmd('helptags ' .. vim.fn.fnameescape(rtp .. '/doc'))
  H.eq('', vim.v.errmsg, 'helptags reported an error')
  local tags = {}
  for _, line in ipairs(vim.fn.readfile(rtp .. '/doc/tags')) do
    tags[line:match('^[^\t]+')] = true
  end
  for _, tag in ipairs({
    'codex.txt', 'codex', 'codex-config', 'codex-settings', 'codex.setup()', ':CodexRewrite',
    ':CodexExplain', ':CodexFix', 'codex-actions', 'codex-hover', 'codex-progress', 'codex-health',
  }) do
    H.ok(tags[tag], 'missing tag ' .. tag)
  end
  vim.opt.rtp:prepend(rtp)
  vim.cmd('help :CodexRewrite')
  H.eq('help', vim.bo.buftype, ':help opened a help buffer')
  H.ok(vim.api.nvim_get_current_line():find('*:CodexRewrite*', 1, true), 'cursor on the tag')
  -- Every |link| points to a tag of this file or of Neovim's own help.
  local text = table.concat(vim.fn.readfile(rtp .. '/doc/codex.txt'), '\n')
  for link in text:gmatch('|([^|%s]+)|') do
    H.ok(#vim.fn.taglist('^' .. vim.fn.escape(link, '\\.*[]~^$') .. '$') > 0, 'dangling link |' .. link .. '|')
  end
end)
