<?php
namespace Friendica\Module;
class Register { const CLOSED = 0; const APPROVE = 1; const OPEN = 2; }
